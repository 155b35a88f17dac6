// CSV streaming, side by side: straight from the simulated tenant ("direct", the limit), through
// the gateway and through each peer; a fast reader (1 GiB) and a slow one (128 MiB at 16 MiB/s).
// curl reads on core 0 and its bytes are hashed, so "bytes match" is checked, not assumed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { bulkBlocksFor } from '../src/sandbox/csv.ts';
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { BENCH_CLIENT, PROXIES, startProxy, upstreamFor } from './proxies.ts';
import { median, MiB, procStat } from './support.ts';

const FAST_BLOCKS = bulkBlocksFor(1024 * MiB);
const SLOW_BLOCKS = bulkBlocksFor(128 * MiB);
const SLOW_RATE = '16M';

interface Download {
  seconds: number;
  bytes: number;
  sha256: string;
}

function curl(url: string, token: string, rate?: string): Promise<Download> {
  const args = ['-c', '0', 'curl', '-sS', '-w', '%{stderr}%{time_total} %{size_download} %{http_code}', '-H', `authorization: Bearer ${token}`];
  if (rate) args.push('--limit-rate', rate);
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
  const exportUrl = (base: string, source: string) => `${base}/v3/non-employee-sources/${source}/non-employees/download`;
  const lines = [
    `### CSV export: 1 GiB to a fast reader, 128 MiB to a reader limited to ${SLOW_RATE}/s (${rounds} rounds, medians)`,
    '',
    '| target | fast MiB/s | CPU s/GiB (fast) | slow MiB/s | CPU s/GiB (slow) | RSS after warm-up | peak RSS growth | bytes match |',
    '|---|---|---|---|---|---|---|---|',
  ];
  try {
    const reference = { fast: '', slow: '' };
    const directFast: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const d = await curl(exportUrl(tenant.origin, 'fast'), upstreamToken);
      directFast.push(rate(d));
      reference.fast = d.sha256;
    }
    const directSlow = await curl(exportUrl(tenant.origin, 'slow'), upstreamToken, SLOW_RATE);
    reference.slow = directSlow.sha256;
    lines.push(`| direct to the tenant (the limit) | ${median(directFast).toFixed(0)} | – | ${rate(directSlow).toFixed(1)} | – | – | – | reference |`);

    for (const name of only ?? PROXIES) {
      const proxy = await startProxy(name, upstream);
      if (!proxy) continue;
      try {
        const token = name === 'gateway' ? callerToken : 'caller-token-ignored';
        await curl(exportUrl(proxy.url, 'slow'), token); // warm-up: the baseline includes what any stream needs
        const baseline = procStat(proxy.pid);
        const fast: number[] = [];
        const fastCpu: number[] = [];
        let match = true;
        for (let round = 0; round < rounds; round += 1) {
          const before = procStat(proxy.pid).cpuS;
          const d = await curl(exportUrl(proxy.url, 'fast'), token);
          fastCpu.push((procStat(proxy.pid).cpuS - before) / (d.bytes / (1024 * MiB)));
          fast.push(rate(d));
          match &&= d.sha256 === reference.fast;
        }
        const before = procStat(proxy.pid).cpuS;
        const slow = await curl(exportUrl(proxy.url, 'slow'), token, SLOW_RATE);
        const slowCpu = (procStat(proxy.pid).cpuS - before) / (slow.bytes / (1024 * MiB));
        match &&= slow.sha256 === reference.slow;
        const end = procStat(proxy.pid);
        lines.push(
          `| ${proxy.name} | ${median(fast).toFixed(0)} | ${median(fastCpu).toFixed(2)} | ${rate(slow).toFixed(1)} | ${slowCpu.toFixed(2)} | ` +
            `${(baseline.rssBytes / MiB).toFixed(0)} MiB | ${((end.peakBytes - baseline.peakBytes) / MiB).toFixed(1)} MiB | ${match ? 'yes' : '**no**'} |`,
        );
      } finally {
        await proxy.stop();
      }
    }
  } finally {
    await tenant.close();
    await issuer.close();
  }
  return lines.join('\n');
}
