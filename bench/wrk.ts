// wrk on core 0: requests/s and latency percentiles with microsecond resolution.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_CORE } from './support.ts';

export interface WrkResult {
  requests: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000;
}

export function wrk(url: string, options: { connections: number; seconds: number; method: string; headers: Record<string, string>; lua?: string }): Promise<WrkResult> {
  const script = join(tmpdir(), `bench-wrk-${process.pid}.lua`);
  const headers = Object.entries(options.headers).map(([name, value]) => `wrk.headers["${name}"] = "${value}"\n`).join('');
  // `lua`: more of the script, e.g. a request() that makes every request different.
  writeFileSync(script, `wrk.method = "${options.method}"\n${headers}${options.lua ?? ''}`);
  const args = ['-c', BENCH_CORE, 'wrk', '-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '-s', script, url];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // 'close', not 'exit': wrk can exit before its report is read to the end.
    child.on('close', (code) => {
      const percentile = (p: string) => {
        const match = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out);
        return match ? toMs(match[1] as string, match[2] as string) : NaN;
      };
      const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const errors = non2xx + (socketErrors ? socketErrors.slice(1).reduce((n, v) => n + Number(v), 0) : 0);
      if (code !== 0 || Number.isNaN(requests)) reject(new Error(`wrk failed: ${out}`));
      else resolve({ requests, requestsPerS: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50Ms: percentile('50'), p99Ms: percentile('99'), errors });
    });
  });
}
