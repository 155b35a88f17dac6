// Shared pieces of the benchmarks: pinning, /proc readings, a gateway process, medians.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { NODE_FLAGS } from '../src/heap-growth.ts';

export const MiB = 1024 * 1024;
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** The core of the proxy under test, alone; and the core of everything else (tenant, load generators, this script). */
export const PROXY_CORE = '1';
export const BENCH_CORE = '0';

/** Pins this process (tenant, load generator) to the bench's core; the gateway gets the proxy's. */
export function pinSelf(): boolean {
  return spawnSync('taskset', ['-a', '-pc', BENCH_CORE, String(process.pid)]).status === 0;
}

export function procStat(pid: number): { cpuS: number; rssBytes: number; peakBytes: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat; 12 and 13 once the comm is cut off.
  return { cpuS: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond, rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
}

/**
 * CPU time the hypervisor gave to someone else while this machine's cores wanted it (steal, from
 * /proc/stat) from one core, in ms: a round with much of it lost its time to the host, not to the
 * target. 0 where the VM does not report it.
 */
export function stolenMs(core: string): number {
  const fields = new RegExp(`^cpu${core} +(.*)$`, 'm').exec(readFileSync('/proc/stat', 'utf8'))?.[1]?.split(' ') ?? [];
  return (Number(fields[7] ?? 0) * 1000) / ticksPerSecond;
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

/**
 * Measures every target once per round, starting each round one target later. This machine's
 * speed drifts by up to 2× over minutes: targets taken in turns meet the same conditions in each
 * round, which targets measured one after another do not.
 */
export async function inTurns<T>(targets: T[], rounds: number, measure: (target: T) => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round += 1) {
    for (let i = 0; i < targets.length; i += 1) await measure(targets[(i + round) % targets.length] as T);
  }
}

/** The median of ours[i] / theirs[i]: a ratio within each round, where both met the same conditions. */
export const perRoundRatio = (ours: number[], theirs: number[]) => median(theirs.map((value, i) => (ours[i] as number) / value));

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export interface GatewayUnderTest {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The gateway in production configuration, in its own process on core 1. GATEWAY_NODE_ARGS adds
 * Node flags for a profiling run, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" or "--trace-gc".
 */
export async function startGateway(env: Record<string, string>, checkout = '.'): Promise<GatewayUnderTest> {
  const child: ChildProcess = spawn('taskset', ['-c', PROXY_CORE, process.execPath, ...NODE_FLAGS, ...(process.env.GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean), 'src/main.ts'], {
    cwd: checkout,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start: ${out}`)), 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"port":(\d+),"msg":"gateway listening"/.exec(out);
      if (match && out.includes('"dependency":"upstreamBudget"')) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${match[1]}`);
      }
    });
  });
  // Past start-up, only the access lines would follow: drain them without keeping them.
  child.stdout?.removeAllListeners('data');
  child.stdout?.resume();
  return {
    url,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
