// npm run bench — every scenario side by side in one run; prints the report and writes it to
// docs/BENCHMARKS.md. BENCH_ROUNDS (default 3), BENCH_SMALL_S (default 5) and BENCH_OVERLOAD_S
// (default 30) shorten or lengthen it. Needs curl, wrk and redis-server; nginx is measured when
// it is installed (Debian: nginx-light).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { bottleneckWindowCheck } from './bottleneck-window.ts';
import { OVERLOAD_HEADER, overloadScenario } from './overload.ts';
import { smallCallsScenario } from './small-calls.ts';
import { streamingScenario } from './streaming.ts';
import { pinSelf } from './support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const smallS = Number(process.env.BENCH_SMALL_S ?? 5);
const overloadS = Number(process.env.BENCH_OVERLOAD_S ?? 30);

const DEBIAN_PACKAGES: Record<string, string> = { curl: 'curl', wrk: 'wrk', 'redis-server': 'redis-server', taskset: 'util-linux', nginx: 'nginx-light' };

const missingTools = () => Object.keys(DEBIAN_PACKAGES).filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);

/** Installs the load generator and peers from Debian's packages when missing (as .ci/run does). */
function ensureTools(): void {
  const missing = missingTools();
  if (missing.length === 0) return;
  const packages = missing.map((tool) => DEBIAN_PACKAGES[tool] as string);
  console.error(`npm run bench: installing ${packages.join(' ')}`);
  spawnSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages.join(' ')}`], { stdio: 'inherit' });
  const still = missingTools().filter((tool) => tool !== 'nginx');
  if (still.length > 0) {
    console.error(`npm run bench needs ${still.join(', ')} (Debian: apt-get install ${still.map((t) => DEBIAN_PACKAGES[t]).join(' ')})`);
    process.exit(1);
  }
}

async function main(): Promise<void> {
  ensureTools();
  const pinned = pinSelf();
  const report = [
    '# Benchmarks',
    '',
    `Run: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; Node ${process.version}.`,
    pinned ? 'The proxy under test runs alone on core 1; the simulated tenant, the load generator (wrk or curl) and this script share core 0.' : 'Not pinned: taskset failed.',
    'CPU time per request or per GiB is read from `/proc/<pid>/stat` of the proxy process: it is stable where wall-clock throughput on a shared 2-core machine is not.',
    'Repeat with `npm run bench` (writes this file).',
    '',
    await smallCallsScenario(rounds, smallS),
    '',
    await streamingScenario(rounds),
    '',
    '### Overload: one caller floods, one light caller asks once a second (budget 100 per 10 s, bursts of 10)',
    '',
    OVERLOAD_HEADER,
    await overloadScenario(5, overloadS),
    await overloadScenario(10, Math.max(5, Math.round(overloadS / 2))),
    '',
    '### Why the shared budget is not bottleneck clustering',
    '',
    await bottleneckWindowCheck(),
    '',
  ].join('\n');
  console.log(report);
  writeFileSync(process.env.BENCH_REPORT ?? 'docs/BENCHMARKS.md', `${report}\n${HISTORY}`);
}

// Changes made for speed, and what each measured (CPU µs per small call through the gateway).
const HISTORY = `
## What changed for speed

| change | gateway CPU µs per small call |
|---|---|
| first version: pino-http, wildcard redaction, jose verification on every request | 747 |
| verified-token cache (keyed by the whole token, until \`exp\`, at most 5 min); exact-path redaction | 509 |
| own access-log middleware and a per-request logger instead of pino-http's child logger per request | 447 |
| small upstream answers read with \`data\` events instead of an async iterator; log writes buffered (4 KiB, flushed every second) | 326 |
| helmet's headers worked out once at start and set in one call; admission fast path when nothing waits | 285 |
| tried: not counting CSV bytes with a \`data\` listener | no measurable change (2.49 → 2.76 CPU s/GiB, within run-to-run noise); kept |
| operability added to every call: W3C trace context (ids, \`traceparent\` upstream), an audit record per egress request (a second JSON line), the trace id in every log line | 237 → 255 (two runs; part of it is run-to-run noise) |
| within that: trace ids from a pooled 4 KiB random buffer instead of \`randomBytes()\` per id (3 % of CPU in a profile); the request log as one object with prototype methods instead of four closures per request | included in 255 |
| CSV: SHA-256 of every export, as streamed, for the audit trail | 2.5 → 2.86 CPU s/GiB; SHA-256 alone costs 0.68 s/GiB on this CPU (SHA-NI) |
| tried: \`undici.stream()\` writing into the response instead of \`request()\` + \`pipeline\`, in a minimal node:http proxy on core 1, 512 MiB, two runs each | no gain: 2.04–2.08 against 1.96–2.02 CPU s/GiB without hashing, 2.64–2.68 against 2.50–2.76 with SHA-256. So about 2 s/GiB is the floor for a Node proxy on this machine (nginx: 1.35), and the 1 s/GiB goal is below it; not adopted |

Still open: tail latency.

- Method: half saturation now gets a 2 s warm-up at the offered rate (which opens the 256
  connections) and the median of the rounds, for every target. Before, the gateway got a single
  cold run. With this, the gateway's added p99 at half saturation went from 352 ms to 83 ms.
  reply-from measured 4.0 ms.
- GC is the cause that could be measured. With \`--trace-gc-nvp\` at 2000 req/s, the gateway
  allocates about 49 MB between scavenges and promotes about 4 MB per scavenge (about 5 KB per
  request; 76–87 % of what survives). Each scavenge pauses 17–28 ms, and V8's helper threads,
  pinned to the same core, spend another 34–54 ms. reply-from allocates 6.7 MB between scavenges,
  promotes 51 KB and pauses 5.6 ms.
- A heap snapshot under load shows no per-request objects retained beyond the requests in
  flight. A sampling heap profile of what survives minor GCs points at the access-log and audit
  lines, undici's parsing of response headers, and the buffered upstream answer. Why about 5 KB
  per request outlives a scavenge is not yet explained. A few requests in flight at the moment of
  a scavenge would account for a few hundred KB, not 4 MB.
- Allocation per request, measured with \`--trace-gc-nvp\` over wrk runs at 32 connections (the
  sum of \`allocated\` over the scavenges, divided by the requests; steady within about 1 KB):
  - as shipped: 63–64 KB allocated, 4.6–4.7 KB promoted per request;
  - without the audit line: 53–54 KB;
  - without the access line: 49–51 KB;
  - without both: 45–46 KB allocated and 5263–5613 req/s (about 4100 with both).

  Promotion stayed at 4.5–4.7 KB per request in all four, so the survivors are neither the log
  lines nor the audit records. Writing the access line with one \`JSON.stringify\` instead of
  through pino saved only 3 KB (61 KB) and was not adopted.
- These did not change it measurably: \`--single-threaded-gc\`,
  \`--no-allocation-site-pretenuring\`, logging off, a 10 ms budget window, and 16 instead of 256
  client connections.
- The first open-loop run after connections open often melts down (p50 of 400–1200 ms). Longer
  pauses leave more requests in flight, so more survives the next scavenge, which pauses longer
  still.
- A larger young generation trades memory for fewer pauses: in one paired run,
  \`NODE_OPTIONS=--max-semi-space-size=32\` cut the p99 at one connection from 13.7 ms to 6.3 ms
  (an earlier run: 15.5 → 9.8 ms). It did not help at half saturation (80 → 95 ms, within noise).
  It is not the default because it raises the gateway's memory; operators can set it.
- At one connection, wrk reports a p99 of about 11 ms for the gateway against 2.9 ms for
  reply-from. A sequential undici client on the same core measured 2.5–3.8 ms against 2.1 ms
  (p99.9 13–15 ms against 6.3 ms). The two clients disagree, and the report keeps wrk's figure.
`;

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
