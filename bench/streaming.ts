// CSV streaming, side by side: straight from the simulated tenant ("direct", the limit) and
// through the gateway; a fast reader (1 GiB) and a slow one (128 MiB at 16 MiB/s), via curl.
import { spawn } from 'node:child_process';
import { bulkBlocksFor, bulkCsvLength } from '../src/sandbox/csv.ts';
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { median, MiB, procStat, startGateway } from './support.ts';

const FAST_BLOCKS = bulkBlocksFor(1024 * MiB);
const SLOW_BLOCKS = bulkBlocksFor(128 * MiB);
const SLOW_RATE = '16M';
const CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret' };

/** Downloads with curl on core 0; returns seconds and bytes as curl measured them. */
function curl(url: string, token: string, rate?: string): Promise<{ seconds: number; bytes: number }> {
  const args = ['-c', '0', 'curl', '-sS', '-o', '/dev/null', '-w', '%{time_total} %{size_download} %{http_code}', '-H', `authorization: Bearer ${token}`];
  if (rate) args.push('--limit-rate', rate);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', () => {
      const [seconds, bytes, code] = out.trim().split(' ').map(Number);
      if (code !== 200) reject(new Error(`curl got HTTP ${code}`));
      else resolve({ seconds: seconds as number, bytes: bytes as number });
    });
  });
}

export async function streamingScenario(rounds: number): Promise<string> {
  const tenant = await startTenant({
    ...CLIENT,
    rateLimit: null,
    tokenLifetimeS: 43_200,
    sources: {
      fast: { kind: 'bulk', blocks: FAST_BLOCKS, contentLength: true },
      slow: { kind: 'bulk', blocks: SLOW_BLOCKS, contentLength: false },
    },
  });
  const issuer = await startDevIssuer();
  const callerToken = await issuer.mint({ scope: 'idn:nesr:read' }, { expiresInS: 3600 });
  const tokenResponse = await fetch(tenant.tokenUrl, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret }),
  });
  const upstreamToken = ((await tokenResponse.json()) as { access_token: string }).access_token;
  const gateway = await startGateway({
    UPSTREAM_BASE_URL: tenant.origin, UPSTREAM_CLIENT_ID: CLIENT.clientId, UPSTREAM_CLIENT_SECRET: CLIENT.clientSecret,
    AUTH_JWKS_URL: issuer.jwksUrl, AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience,
  });
  const exportUrl = (base: string, source: string) => `${base}/v3/non-employee-sources/${source}/non-employees/download`;
  try {
    await curl(exportUrl(gateway.url, 'slow'), callerToken); // warm-up: the baseline includes what any stream needs
    const baseline = procStat(gateway.pid);
    const fastDirect: number[] = [];
    const fastGateway: number[] = [];
    const fastCpu: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      const direct = await curl(exportUrl(tenant.origin, 'fast'), upstreamToken);
      fastDirect.push(direct.bytes / MiB / direct.seconds);
      const before = procStat(gateway.pid);
      const via = await curl(exportUrl(gateway.url, 'fast'), callerToken);
      const after = procStat(gateway.pid);
      if (via.bytes !== bulkCsvLength(FAST_BLOCKS)) throw new Error(`gateway delivered ${via.bytes} bytes`);
      fastGateway.push(via.bytes / MiB / via.seconds);
      fastCpu.push((after.cpuS - before.cpuS) / (via.bytes / (1024 * MiB)));
    }
    const afterFast = procStat(gateway.pid);
    const slowDirect = await curl(exportUrl(tenant.origin, 'slow'), upstreamToken, SLOW_RATE);
    const beforeSlow = procStat(gateway.pid);
    const slowVia = await curl(exportUrl(gateway.url, 'slow'), callerToken, SLOW_RATE);
    const afterSlow = procStat(gateway.pid);
    const slowCpu = (afterSlow.cpuS - beforeSlow.cpuS) / (slowVia.bytes / (1024 * MiB));
    const rate = (bytes: number, seconds: number) => bytes / MiB / seconds;
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    return [
      `### CSV streaming (${rounds} rounds, medians)`,
      '',
      '| scenario | direct | through gateway | ratio | gateway CPU s/GiB |',
      '|---|---|---|---|---|',
      `| 1 GiB, fast reader | ${median(fastDirect).toFixed(0)} MiB/s | ${median(fastGateway).toFixed(0)} MiB/s | ${(median(fastGateway) / median(fastDirect)).toFixed(2)} | ${median(fastCpu).toFixed(2)} |`,
      `| 128 MiB, reader limited to ${SLOW_RATE}/s | ${rate(slowDirect.bytes, slowDirect.seconds).toFixed(0)} MiB/s | ${rate(slowVia.bytes, slowVia.seconds).toFixed(0)} MiB/s | ${(slowDirect.seconds / slowVia.seconds).toFixed(2)} | ${slowCpu.toFixed(2)} |`,
      '',
      `Gateway RSS: ${mib(baseline.rssBytes)} after warm-up; peak ${mib(afterFast.peakBytes)} after ${rounds} × 1 GiB; peak ${mib(afterSlow.peakBytes)} after the slow reader (growth over the warm baseline: ${mib(afterSlow.peakBytes - baseline.peakBytes)}).`,
    ].join('\n');
  } finally {
    await gateway.stop();
    await tenant.close();
    await issuer.close();
  }
}
