// A fixed-rate (open-loop) load generator: requests leave on schedule whatever the answers do,
// so latency at a given load is measured without coordinated omission. Debian's wrk cannot hold
// a rate, hence this. Latency is timed with performance.now(): sub-millisecond resolution.
//
// openLoopProcess() runs it in a process of its own on core 0. In the bench's process its
// garbage collections stalled the simulated tenant too (one event loop), so a pause of the load
// generator's showed up as latency of whichever target it was timing.
//
// Each process first sends warmUpS seconds at the same rate, on the same connections, untimed: a
// fresh process's first requests run cold (JIT, new connections), and its late sends counted as
// latency of the target. Without that warm-up the direct baseline's p99 at 3936 req/s read 80-100
// ms; with it, 9-22 ms.
import { spawn } from 'node:child_process';
import { Pool } from 'undici';
import { percentile } from './support.ts';

interface OpenLoopOptions {
  ratePerS: number;
  seconds: number;
  /** Sent first and not timed. */
  warmUpS: number;
  method: string;
  headers: Record<string, string>;
}

export interface OpenLoopResult {
  sent: number;
  ok: number;
  p50Ms: number;
  p99Ms: number;
}

export async function openLoop(url: string, options: OpenLoopOptions, onWarm: () => void = () => {}): Promise<OpenLoopResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections: 256, pipelining: 1 });
  if (options.warmUpS > 0) await sendAtRate(pool, target, { ...options, seconds: options.warmUpS });
  onWarm();
  const result = await sendAtRate(pool, target, options);
  await pool.close();
  return result;
}

async function sendAtRate(pool: Pool, target: URL, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const latencies: number[] = [];
  let ok = 0;
  let sent = 0;
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsedS = (performance.now() - started) / 1000;
      if (elapsedS >= options.seconds) {
        clearInterval(tick);
        resolve();
        return;
      }
      // Request k is due at k / rate: the first at once (counting it due only one interval later
      // added 1 / rate to every latency, 200 ms at 5 requests a second).
      for (const due = Math.min(Math.floor(elapsedS * options.ratePerS) + 1, Math.round(options.seconds * options.ratePerS)); sent < due; sent += 1) {
        const scheduledAt = started + (sent / options.ratePerS) * 1000;
        const request = pool
          .request({ path: target.pathname, method: options.method, headers: options.headers })
          .then(async (response) => {
            await response.body.dump();
            // From when the request was due, not when it left: a late send counts as latency.
            latencies.push(performance.now() - scheduledAt);
            if (response.statusCode < 300) ok += 1;
          }, () => undefined)
          .finally(() => pending.delete(request));
        pending.add(request);
      }
    }, 1);
  });
  await Promise.all(pending);
  return { sent, ok, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

const WARM = 'warm\n';

/**
 * The same, in a child process pinned to core 0 beside the tenant. Its result comes back on
 * stdout, after a line that says the warm-up is over: onWarm runs then, when the timed part starts.
 */
export function openLoopProcess(url: string, options: OpenLoopOptions, onWarm: () => void = () => {}): Promise<OpenLoopResult> {
  const child = spawn('taskset', ['-c', '0', process.execPath, import.meta.filename, JSON.stringify({ url, options })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const warmBefore = out.startsWith(WARM);
    out += chunk.toString();
    if (!warmBefore && out.startsWith(WARM)) onWarm();
  });
  return new Promise((resolve, reject) => {
    child.once('close', (code) => (code === 0 ? resolve(JSON.parse(out.slice(WARM.length)) as OpenLoopResult) : reject(new Error(`open-loop process exited ${code}`))));
  });
}

if (import.meta.main) {
  const { url, options } = JSON.parse(process.argv[2] as string) as { url: string; options: OpenLoopOptions };
  process.stdout.write(JSON.stringify(await openLoop(url, options, () => process.stdout.write(WARM))));
}
