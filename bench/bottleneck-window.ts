// Why the shared budget is not bottleneck's clustering: bottleneck's Redis datastore refreshes its
// reservoir on a fixed interval, so across a refresh edge it lets up to twice the limit through in
// one sliding window. Two clustered limiters (as two replicas) are run against a real Redis and
// the largest number of job starts in any window is counted. Needs redis-server.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import Bottleneck from 'bottleneck';
import { maxInAnyWindow } from '../test/support/windows.ts';

const LIMIT = 10;
const WINDOW_MS = 1000;

async function run(port: number, heartbeatInterval: number): Promise<{ worst: number; spanMs: number }> {
    const starts: number[] = [];
    // One limiter clears the datastore and is ready before the other joins: clearing it while the
    // other registers makes Redis forget that one (ERR UNKNOWN_CLIENT).
    const limiters: Bottleneck[] = [];
    for (const clearDatastore of [true, false]) {
      const limiter = new Bottleneck({
        id: `bench-${port}-${heartbeatInterval}`,
        datastore: 'ioredis',
        clientOptions: { host: '127.0.0.1', port },
        clearDatastore,
        reservoir: LIMIT,
        reservoirRefreshInterval: WINDOW_MS,
        reservoirRefreshAmount: LIMIT,
        heartbeatInterval,
      });
      await limiter.ready();
      limiters.push(limiter);
    }
    // Load arrives late in one refresh period and carries on into the next: the refresh hands
    // out a full reservoir again although the previous one was spent moments ago.
    const started = performance.now();
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS * 0.8));
    const jobs: Array<Promise<void>> = [];
    for (let i = 0; i < 3 * LIMIT; i += 1) {
      const limiter = limiters[i % 2] as Bottleneck;
      jobs.push(limiter.schedule(async () => void starts.push(performance.now() - started)));
    }
    await Promise.all(jobs);
    const worst = maxInAnyWindow(starts, WINDOW_MS);
    for (const limiter of limiters) await limiter.disconnect();
    return { worst, spanMs: Math.max(...starts) - Math.min(...starts) };
}

export async function bottleneckWindowCheck(): Promise<string> {
  const port = 6400 + Math.floor(Math.random() * 500);
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [defaults, tuned] = [await run(port, 5000), await run(port, 50)];
    return [
      `bottleneck 2.19.5 with its Redis datastore, two clustered limiters (two replicas), reservoir ${LIMIT} refreshed every ${WINDOW_MS} ms, ${3 * LIMIT} jobs arriving late in a refresh period:`,
      '',
      `- default heartbeat (5 s): at most ${defaults.worst} starts in any ${WINDOW_MS} ms window, but the ${3 * LIMIT} jobs took ${(defaults.spanMs / 1000).toFixed(1)} s instead of about ${((3 * LIMIT) / LIMIT - 1).toFixed(0)} s: refreshes wait for the heartbeat, so the budget goes unused;`,
      `- heartbeat 50 ms (refreshes on time): **${tuned.worst}** starts in one ${WINDOW_MS} ms sliding window, against a limit of ${LIMIT}: a refresh hands out a full reservoir moments after the previous one was spent.`,
    ].join('\n');
  } catch (error) {
    return `The bottleneck check could not run: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    server.kill('SIGKILL');
    await once(server, 'exit');
  }
}
