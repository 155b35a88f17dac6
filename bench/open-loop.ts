// The fixed-rate (open-loop) load generator, bench/open-loop.c, compiled on first use and run in
// a process of its own on core 0 beside the tenant. Latency is timed from when each request was
// due, so a late send counts (no coordinated omission).
//
// Each run first sends warmUpS seconds at the same rate, on the same connections, untimed: a
// target's first requests run cold (JIT, new connections).
//
// It was a Node.js script (undici) until its own pauses were found in every figure: at 5000
// req/s on core 0 it stalled for 5-20 ms at its scavenges and at other moments, so the direct
// baseline's p99 read 14-24 ms with the tenant moved to the other core, and the added p99 of
// each proxy was a difference of two numbers of that size. docs/PERFORMANCE.md has the figures.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_CORE } from './support.ts';

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
  /** Requests whose connection failed or that had no answer within 10 s of the last send. */
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

const SOURCE = join(import.meta.dirname, 'open-loop.c');
const MAX_CONNECTIONS = 256;
const WARM = 'warm\n';

let built: string | undefined;

/** The generator's binary, built once per version of its source and looked up once per run. */
function generator(): string {
  if (built) return built;
  const source = readFileSync(SOURCE);
  const binary = join(tmpdir(), `bench-open-loop-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`);
  if (!existsSync(binary)) {
    const building = `${binary}.${process.pid}`;
    const cc = spawnSync('cc', ['-O2', '-Wall', '-o', building, SOURCE], { encoding: 'utf8' });
    if (cc.error || cc.status !== 0) throw new Error(`bench: cannot build ${SOURCE} with cc (a C compiler is needed): ${cc.error?.message ?? cc.stderr}`);
    renameSync(building, binary);
  }
  built = binary;
  return binary;
}

/**
 * The request as bytes on the wire, sent as is for every call: the names wrk sends, and no
 * Content-Length for a POST without a body, the caller's headers before Host (wrk puts Host first
 * or last, differently from one wrk process to the next, so the targets meet both orders in the
 * saturation rounds). A target's request headers object takes its shape from the names and their
 * order: when the half-saturation rounds sent a head with a Content-Length the saturation rounds
 * never had, V8 threw away code it had optimised (some 20 functions in the gateway, Node's HTTP
 * parser among them, "wrong map") and compiled it again during the first open-loop round, on the
 * target's core.
 */
function requestText(url: URL, method: string, headers: Record<string, string>): string {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`), `Host: ${url.host}`];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** onWarm runs when the warm-up's answers are in and the timed part starts. */
export function openLoopProcess(url: string, options: OpenLoopOptions, onWarm: () => void = () => {}): Promise<OpenLoopResult> {
  const target = new URL(url);
  const args = [target.hostname, target.port, options.ratePerS, options.seconds, options.warmUpS, MAX_CONNECTIONS].map(String);
  const child = spawn('taskset', ['-c', BENCH_CORE, generator(), ...args, requestText(target, options.method, options.headers)], { stdio: ['ignore', 'pipe', 'inherit'] });
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
