// npm run bench — CSV streaming measured side by side in one run: straight from the simulated
// tenant ("direct", the limit) and through the gateway, fast and slow readers, several rounds,
// medians. The gateway runs in its own process pinned to core 1; the tenant (this process) and
// curl (the reader) are pinned to core 0, so the gateway's CPU time is its own.
// Small-call throughput and peer proxies come with the benchmark issue.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { bulkBlocksFor, bulkCsvLength } from '../src/sandbox/csv.ts';
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';

const MiB = 1024 * 1024;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FAST_BLOCKS = bulkBlocksFor(1024 * MiB);
const SLOW_BLOCKS = bulkBlocksFor(128 * MiB);
const SLOW_RATE = '16M';
const CLIENT = { clientId: 'bench-client', clientSecret: 'bench-secret' };

const pinned = spawnSync('taskset', ['-pc', '0', String(process.pid)]).status === 0;
const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function procStat(pid: number): { cpuS: number; rssBytes: number; peakBytes: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0) * 1024;
  // utime and stime are fields 14 and 15 of /proc/<pid>/stat (1-based); 12 and 13 after the comm.
  return { cpuS: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond, rssBytes: kb('VmRSS'), peakBytes: kb('VmHWM') };
}

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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<void> {
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

  const gateway = spawn('taskset', ['-c', '1', process.execPath, 'src/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn',
      UPSTREAM_BASE_URL: tenant.origin, UPSTREAM_CLIENT_ID: CLIENT.clientId, UPSTREAM_CLIENT_SECRET: CLIENT.clientSecret,
      AUTH_JWKS_URL: issuer.jwksUrl, AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // LOG_LEVEL=warn hides the "listening" line, so find the port from /proc instead of the log.
  const gatewayUrl = await new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const ss = spawnSync('ss', ['-Htlnp'], { encoding: 'utf8' }).stdout;
      const match = new RegExp(`127\\.0\\.0\\.1:(\\d+) .*pid=${gateway.pid},`).exec(ss);
      if (match) resolve(`http://127.0.0.1:${match[1]}`);
      else if (Date.now() - started > 20_000) reject(new Error('gateway did not start'));
      else setTimeout(poll, 100);
    };
    poll();
  });
  const gatewayPid = gateway.pid as number;
  const exportUrl = (base: string, source: string) => `${base}/v3/non-employee-sources/${source}/non-employees/download`;

  // Warm-up: one small pass each way, so the baseline includes what any stream needs.
  await curl(exportUrl(gatewayUrl, 'slow'), callerToken);
  const baseline = procStat(gatewayPid);

  const rows: Array<{ scenario: string; direct: number; gateway: number; cpuPerGiB: number; unit: string }> = [];
  const fastDirect: number[] = [];
  const fastGateway: number[] = [];
  const fastCpu: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const direct = await curl(exportUrl(tenant.origin, 'fast'), upstreamToken);
    fastDirect.push(direct.bytes / MiB / direct.seconds);
    const before = procStat(gatewayPid);
    const via = await curl(exportUrl(gatewayUrl, 'fast'), callerToken);
    const after = procStat(gatewayPid);
    if (via.bytes !== bulkCsvLength(FAST_BLOCKS)) throw new Error(`gateway delivered ${via.bytes} bytes`);
    fastGateway.push(via.bytes / MiB / via.seconds);
    fastCpu.push((after.cpuS - before.cpuS) / (via.bytes / (1024 * MiB)));
  }
  rows.push({ scenario: '1 GiB, fast reader', direct: median(fastDirect), gateway: median(fastGateway), cpuPerGiB: median(fastCpu), unit: 'MiB/s' });
  const afterFast = procStat(gatewayPid);

  const slowDirect = await curl(exportUrl(tenant.origin, 'slow'), upstreamToken, SLOW_RATE);
  const beforeSlow = procStat(gatewayPid);
  const slowVia = await curl(exportUrl(gatewayUrl, 'slow'), callerToken, SLOW_RATE);
  const afterSlow = procStat(gatewayPid);
  rows.push({
    scenario: `128 MiB, reader limited to ${SLOW_RATE}/s`,
    direct: slowDirect.bytes / MiB / slowDirect.seconds,
    gateway: slowVia.bytes / MiB / slowVia.seconds,
    cpuPerGiB: (afterSlow.cpuS - beforeSlow.cpuS) / (slowVia.bytes / (1024 * MiB)),
    unit: 'MiB/s',
  });

  gateway.kill('SIGTERM');
  await tenant.close();
  await issuer.close();

  const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
  console.log(`\nCSV streaming — ${ROUNDS} rounds, medians; Node ${process.version}; ${pinned ? 'gateway on core 1, tenant and curl on core 0' : 'not pinned (taskset failed)'}\n`);
  console.log('| scenario | direct | through gateway | ratio | gateway CPU s/GiB |');
  console.log('|---|---|---|---|---|');
  for (const row of rows) {
    console.log(`| ${row.scenario} | ${row.direct.toFixed(0)} ${row.unit} | ${row.gateway.toFixed(0)} ${row.unit} | ${(row.gateway / row.direct).toFixed(2)} | ${row.cpuPerGiB.toFixed(2)} |`);
  }
  console.log(`\nGateway RSS: ${mib(baseline.rssBytes)} after warm-up; peak ${mib(afterFast.peakBytes)} after ${ROUNDS} × 1 GiB fast; peak ${mib(afterSlow.peakBytes)} after the slow reader.`);
  console.log(`Peak growth over the warm baseline: ${mib(afterSlow.peakBytes - baseline.peakBytes)}.\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
