// npm run bench — every scenario, side by side in one run, printed as Markdown tables.
// BENCH_ROUNDS (default 3) and BENCH_OVERLOAD_S (default 30) shorten or lengthen it.
import { cpus } from 'node:os';
import { bottleneckWindowCheck } from './bottleneck-window.ts';
import { OVERLOAD_HEADER, overloadScenario } from './overload.ts';
import { streamingScenario } from './streaming.ts';
import { pinSelf } from './support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const overloadS = Number(process.env.BENCH_OVERLOAD_S ?? 30);

async function main(): Promise<void> {
  const pinned = pinSelf();
  const sections = [
    `## Benchmarks — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`,
    pinned ? 'Gateway pinned to core 1; tenant, load generator and curl to core 0.' : 'Not pinned: taskset failed.',
    '',
    await streamingScenario(rounds),
    '',
    '### Overload: one caller floods, one light caller asks once a second (budget 100 per 10 s)',
    '',
    OVERLOAD_HEADER,
    await overloadScenario(5, overloadS),
    await overloadScenario(10, Math.max(5, Math.round(overloadS / 2))),
    '',
    '### Why the shared budget is not bottleneck clustering',
    '',
    await bottleneckWindowCheck(),
    '',
  ];
  console.log(sections.join('\n'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
