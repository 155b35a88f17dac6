import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { BENCH_CLIENT, startProxy, upstreamFor } from '../bench/proxies.ts';
import { pinSelf } from '../bench/support.ts';
import { openLoop } from '../bench/open-loop.ts';
import { wrk } from '../bench/wrk.ts';

const CAMPAIGN = '2c91808571bcfcf80171c23e4b4221fc';
const PATH = `/v3/campaigns/${CAMPAIGN}/run-report/CAMPAIGN_STATUS_REPORT`;
pinSelf();
const tenant = await startTenant({ ...BENCH_CLIENT, campaigns: [CAMPAIGN], rateLimit: null, tokenLifetimeS: 43_200, record: false });
const issuer = await startDevIssuer();
const callerToken = await issuer.mint({ roles: ['CERT_ADMIN'] }, { expiresInS: 3600 });
const extra = JSON.parse(process.env.EXTRA ?? '{}');
const upstream = await upstreamFor(tenant, issuer, {
  UPSTREAM_RATE_LIMIT: '100000', UPSTREAM_RATE_WINDOW_MS: '1000', UPSTREAM_RATE_BURST: '100000',
  UPSTREAM_MAX_CONCURRENCY: '1000', UPSTREAM_QUEUE_SIZE: '100000', UPSTREAM_QUEUE_PER_CALLER: '100000', ...extra,
});
const rate = Number(process.env.RATE ?? 2000);
import { spawn } from 'node:child_process';
async function quietGateway() {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const child = spawn('taskset', ['-c', '1', process.execPath, ...(process.env.GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean), 'src/main.ts'], {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', ...upstream.gatewayEnv },
    stdio: ['ignore', process.env.GATEWAY_STDOUT_FILE ? (await import('node:fs')).openSync(process.env.GATEWAY_STDOUT_FILE, 'w') : 'ignore', 'inherit'],
  });
  for (let i = 0; i < 200; i++) { if (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false)) break; await new Promise((r) => setTimeout(r, 50)); }
  return { url: `http://127.0.0.1:${port}`, stop: async () => { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); } };
}
for (const name of (process.env.TARGETS ?? 'gateway,reply-from').split(',')) {
  const proxy = name === 'quiet' ? await quietGateway() : await startProxy(name, upstream);
  if (!proxy) continue;
  const auth = name === 'gateway' || name === 'quiet' ? `Bearer ${callerToken}` : 'Bearer x';
  await wrk(`${proxy.url}${PATH}`, { connections: 8, seconds: 2, method: 'POST', authorization: auth });
  await openLoop(`${proxy.url}${PATH}`, { ratePerS: rate, seconds: 2, method: 'POST', authorization: auth });
  for (let i = 0; i < 3; i++) {
    const r = await openLoop(`${proxy.url}${PATH}`, { ratePerS: rate, seconds: 4, method: 'POST', authorization: auth });
    console.log(name, rate, JSON.stringify(r));
  }
  await proxy.stop();
}
await tenant.close(); await issuer.close();
