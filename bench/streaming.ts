// CSV streaming, side by side: straight from the simulated tenant ("direct", the limit), through
// the gateway and through each peer; a fast reader (1 GiB) and a slow one (128 MiB at 16 MiB/s).
// curl reads on core 0 and its bytes are hashed, so "bytes match" is checked, not assumed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { bulkBlocksFor, bulkCsvLength } from '../src/sandbox/csv.ts';
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { BENCH_CLIENT, CSV_TARGETS, startProxy, upstreamFor, VERIFYING_PEERS, type Proxy } from './proxies.ts';
import { BENCH_CORE, inTurns, median, MiB, perRoundRatio, procStat } from './support.ts';
import { operation, pathOf } from '../src/operations/table.ts';

const FAST_BLOCKS = bulkBlocksFor(1024 * MiB);
const SLOW_BLOCKS = bulkBlocksFor(128 * MiB);
const FAST_BYTES = bulkCsvLength(FAST_BLOCKS);
const SLOW_RATE = '16M';
// Twenty exports at once: ten readers, each with one fast and one slow download (a caller's share
// of exports is two), so memory is seen under many streams with backpressure on half of them.
const READERS = 10;
const MIXED_BLOCKS = bulkBlocksFor(256 * MiB);

interface Download {
  seconds: number;
  bytes: number;
  sha256: string;
}

/**
 * One download by curl on core 0. Timed downloads go to /dev/null: hashing them here, on the core
 * the tenant shares, capped every figure near 420 MiB/s, direct included. `hashed` downloads are
 * the untimed ones that check the bytes.
 */
function curl(url: string, token: string, options: { rate?: string; hashed?: boolean } = {}): Promise<Download> {
  const args = ['-c', BENCH_CORE, 'curl', '-sS', '-w', '%{stderr}%{time_total} %{size_download} %{http_code}', '-H', `authorization: Bearer ${token}`];
  if (options.rate) args.push('--limit-rate', options.rate);
  if (!options.hashed) args.push('-o', '/dev/null');
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let summary = '';
    child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
    child.stderr.on('data', (chunk: Buffer) => (summary += chunk.toString()));
    // 'close', not 'exit': the process can exit before its stdout and stderr are read to the end.
    child.on('close', (exitCode) => {
      const [seconds, bytes, code] = summary.trim().split(' ').map(Number);
      if (exitCode !== 0 || code !== 200) reject(new Error(`curl exited ${exitCode}: ${summary.trim()}`));
      else resolve({ seconds: seconds as number, bytes: bytes as number, sha256: hash.digest('hex') });
    });
  });
}

const rate = (d: Download) => d.bytes / MiB / d.seconds;

interface TwentyAtOnce {
  fastMiBs: number;
  slowMiBs: number;
  peakGrowthMiB: number | undefined;
  complete: number;
  /** Why downloads that did not complete failed, as curl or the status said. */
  failures: string[];
}

/** Each reader's fast and slow download at once; the proxy's RSS sampled every 50 ms meanwhile. */
async function twentyAtOnce(url: (source: string) => string, readers: string[], pid: number | undefined): Promise<TwentyAtOnce> {
  const before = pid ? procStat(pid).rssBytes : 0;
  let peak = before;
  const sampler = setInterval(() => {
    if (pid) peak = Math.max(peak, procStat(pid).rssBytes);
  }, 50);
  const failures: string[] = [];
  const failed = (error: Error): Download => (failures.push(error.message), { seconds: Infinity, bytes: 0, sha256: '' });
  const fast = readers.map((token) => curl(url('mixed'), token).catch(failed));
  const slow = readers.map((token) => curl(url('slow'), token, { rate: SLOW_RATE }).catch(failed));
  const [fastDone, slowDone] = [await Promise.all(fast), await Promise.all(slow)];
  clearInterval(sampler);
  const complete =
    fastDone.filter((d) => d.bytes === bulkCsvLength(MIXED_BLOCKS)).length + slowDone.filter((d) => d.bytes === bulkCsvLength(SLOW_BLOCKS)).length;
  return {
    fastMiBs: fastDone.reduce((n, d) => n + d.bytes, 0) / MiB / Math.max(...fastDone.map((d) => d.seconds)),
    slowMiBs: median(slowDone.map(rate)),
    peakGrowthMiB: pid ? (peak - before) / MiB : undefined,
    complete,
    failures,
  };
}

export async function streamingScenario(rounds: number, only?: string[]): Promise<string> {
  const tenant = await startTenant({
    ...BENCH_CLIENT,
    rateLimit: null,
    tokenLifetimeS: 43_200,
    record: false,
    sources: {
      fast: { kind: 'bulk', blocks: FAST_BLOCKS, contentLength: true },
      slow: { kind: 'bulk', blocks: SLOW_BLOCKS, contentLength: false },
      mixed: { kind: 'bulk', blocks: MIXED_BLOCKS, contentLength: true },
    },
  });
  const issuer = await startDevIssuer();
  const callerToken = await issuer.mint({ scope: 'idn:nesr:read' }, { expiresInS: 3600 });
  const readerTokens = await Promise.all(Array.from({ length: READERS }, (_, i) => issuer.mint({ sub: `reader-${i}`, scope: 'idn:nesr:read' }, { expiresInS: 3600 })));
  // Room for twenty exports at once (each reader keeps to its share of two); all else the defaults.
  const upstream = await upstreamFor(tenant, issuer, { UPSTREAM_EXPORT_CONCURRENCY: String(2 * READERS), UPSTREAM_RATE_BURST: String(2 * READERS) });
  const upstreamToken = upstream.token;
  const exportUrl = (base: string, source: string) => `${base}${pathOf(operation('exportNonEmployeeRecords'), { id: source })}`;
  const lines = [
    `### CSV export: 1 GiB to a fast reader, 128 MiB to a reader limited to ${SLOW_RATE}/s (${rounds} rounds taken in turns, medians)`,
    '',
    '| target | fast MiB/s | gateway ÷ peer, fast (median of per-round ratios) | CPU s/GiB (fast) | slow MiB/s | CPU s/GiB (slow) | RSS after warm-up | peak RSS growth | bytes match |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  interface Target {
    name: string;
    url: string;
    token: string;
    /** The ten readers' tokens for the twenty-at-once row. */
    readers: string[];
    pid: number | undefined;
    fast: number[];
    fastCpu: number[];
    match: boolean;
  }
  const proxies: Proxy[] = [];
  try {
    // Every target runs at once and the fast rounds go round them in turns, as for small calls:
    // this machine's speed drifts, and a ratio within one round compares like with like.
    const targets: Target[] = [
      { name: 'direct to the tenant (the limit)', url: tenant.origin, token: upstreamToken, readers: readerTokens.map(() => upstreamToken), pid: undefined, fast: [], fastCpu: [], match: true },
    ];
    for (const name of only ?? CSV_TARGETS) {
      const proxy = await startProxy(name, upstream);
      if (!proxy) continue;
      proxies.push(proxy);
      const verifying = VERIFYING_PEERS.has(name);
      targets.push({
        name: proxy.name, url: proxy.url, token: verifying ? callerToken : 'caller-token-ignored', readers: verifying ? readerTokens : readerTokens.map(() => 'caller-token-ignored'),
        pid: proxy.pid, fast: [], fastCpu: [], match: true,
      });
    }
    // Warm-up, and the bytes checked: every target's whole fast and slow exports, hashed.
    const reference = { fast: (await curl(exportUrl(tenant.origin, 'fast'), upstreamToken, { hashed: true })).sha256, slow: (await curl(exportUrl(tenant.origin, 'slow'), upstreamToken, { hashed: true })).sha256 };
    for (const t of targets.slice(1)) {
      t.match = (await curl(exportUrl(t.url, 'fast'), t.token, { hashed: true })).sha256 === reference.fast;
      t.match &&= (await curl(exportUrl(t.url, 'slow'), t.token, { hashed: true })).sha256 === reference.slow;
    }
    const baselines = new Map(targets.map((t) => [t, t.pid ? procStat(t.pid) : undefined]));
    await inTurns(targets, rounds, async (t) => {
      const before = t.pid ? procStat(t.pid).cpuS : 0;
      const d = await curl(exportUrl(t.url, 'fast'), t.token);
      if (t.pid) t.fastCpu.push((procStat(t.pid).cpuS - before) / (d.bytes / (1024 * MiB)));
      t.fast.push(rate(d));
      t.match &&= d.bytes === FAST_BYTES;
    });
    const gateway = targets.find((t) => t.name.startsWith('gateway'));
    for (const t of targets) {
      const before = t.pid ? procStat(t.pid).cpuS : 0;
      const slow = await curl(exportUrl(t.url, 'slow'), t.token, { rate: SLOW_RATE });
      const baseline = baselines.get(t);
      if (t.pid === undefined || baseline === undefined) {
        lines.push(`| ${t.name} | ${median(t.fast).toFixed(0)} | | – | ${rate(slow).toFixed(1)} | – | – | – | reference |`);
        continue;
      }
      const slowCpu = (procStat(t.pid).cpuS - before) / (slow.bytes / (1024 * MiB));
      const end = procStat(t.pid);
      const ratio = gateway && t !== gateway ? perRoundRatio(gateway.fast, t.fast).toFixed(2) : '';
      lines.push(
        `| ${t.name} | ${median(t.fast).toFixed(0)} | ${ratio} | ${median(t.fastCpu).toFixed(2)} | ${rate(slow).toFixed(1)} | ${slowCpu.toFixed(2)} | ` +
          `${(baseline.rssBytes / MiB).toFixed(0)} MiB | ${((end.peakBytes - baseline.peakBytes) / MiB).toFixed(1)} MiB | ${t.match ? 'yes' : '**no**'} |`,
      );
    }
    // After the rows above, whose peak RSS growth is read from the high-water mark, so this is not in it.
    const twenty = new Map<Target, TwentyAtOnce>();
    for (const t of targets) twenty.set(t, await twentyAtOnce((source) => exportUrl(t.url, source), t.readers, t.pid));
    lines.push(
      '',
      `#### Twenty exports at once: ${READERS} readers, each reading 256 MiB as fast as it can and 128 MiB at ${SLOW_RATE}/s`,
      '',
      '| target | fast readers together, MiB/s | slow reader MiB/s (median) | peak RSS growth (sampled every 50 ms) | complete |',
      '|---|---|---|---|---|',
      ...[...twenty].map(([t, r]) =>
        `| ${t.name} | ${r.fastMiBs.toFixed(0)} | ${r.slowMiBs.toFixed(1)} | ${r.peakGrowthMiB === undefined ? '–' : `${r.peakGrowthMiB.toFixed(1)} MiB`} | ${r.complete} of ${2 * READERS}${r.failures.length ? ` (${[...new Set(r.failures)].join('; ')})` : ''} |`),
    );
  } finally {
    for (const proxy of proxies) await proxy.stop();
    await tenant.close();
    await issuer.close();
  }
  return lines.join('\n');
}
