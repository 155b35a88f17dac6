// CSV streaming, side by side: straight from the simulated tenant ("direct", the limit), through
// the gateway and through each peer; a fast reader (1 GiB) and a slow one (128 MiB at 16 MiB/s).
// curl reads on core 0 and its bytes are hashed, so "bytes match" is checked, not assumed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { bulkBlocksFor, bulkCsvLength } from '../src/sandbox/csv.ts';
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { BENCH_CLIENT, PROXIES, startProxy, upstreamFor, VERIFYING_PEERS, type Proxy } from './proxies.ts';
import { inTurns, median, MiB, perRoundRatio, procStat } from './support.ts';
import { operation, pathOf } from '../src/operations/table.ts';

const FAST_BLOCKS = bulkBlocksFor(1024 * MiB);
const SLOW_BLOCKS = bulkBlocksFor(128 * MiB);
const FAST_BYTES = bulkCsvLength(FAST_BLOCKS);
const SLOW_RATE = '16M';

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
  const args = ['-c', '0', 'curl', '-sS', '-w', '%{stderr}%{time_total} %{size_download} %{http_code}', '-H', `authorization: Bearer ${token}`];
  if (options.rate) args.push('--limit-rate', options.rate);
  if (!options.hashed) args.push('-o', '/dev/null');
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let summary = '';
    child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
    child.stderr.on('data', (chunk: Buffer) => (summary += chunk.toString()));
    child.on('exit', () => {
      const [seconds, bytes, code] = summary.trim().split(' ').map(Number);
      if (code !== 200) reject(new Error(`curl got HTTP ${code}: ${summary}`));
      else resolve({ seconds: seconds as number, bytes: bytes as number, sha256: hash.digest('hex') });
    });
  });
}

const rate = (d: Download) => d.bytes / MiB / d.seconds;

export async function streamingScenario(rounds: number, only?: string[]): Promise<string> {
  const tenant = await startTenant({
    ...BENCH_CLIENT,
    rateLimit: null,
    tokenLifetimeS: 43_200,
    record: false,
    sources: {
      fast: { kind: 'bulk', blocks: FAST_BLOCKS, contentLength: true },
      slow: { kind: 'bulk', blocks: SLOW_BLOCKS, contentLength: false },
    },
  });
  const issuer = await startDevIssuer();
  const callerToken = await issuer.mint({ scope: 'idn:nesr:read' }, { expiresInS: 3600 });
  const upstream = await upstreamFor(tenant, issuer);
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
    pid: number | undefined;
    fast: number[];
    fastCpu: number[];
    match: boolean;
  }
  const proxies: Proxy[] = [];
  try {
    // Every target runs at once and the fast rounds go round them in turns, as for small calls:
    // this machine's speed drifts, and a ratio within one round compares like with like.
    const targets: Target[] = [{ name: 'direct to the tenant (the limit)', url: tenant.origin, token: upstreamToken, pid: undefined, fast: [], fastCpu: [], match: true }];
    for (const name of only ?? PROXIES) {
      const proxy = await startProxy(name, upstream);
      if (!proxy) continue;
      proxies.push(proxy);
      targets.push({ name: proxy.name, url: proxy.url, token: VERIFYING_PEERS.has(name) ? callerToken : 'caller-token-ignored', pid: proxy.pid, fast: [], fastCpu: [], match: true });
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
  } finally {
    for (const proxy of proxies) await proxy.stop();
    await tenant.close();
    await issuer.close();
  }
  return lines.join('\n');
}
