import { spawn } from 'node:child_process';
import { startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { wrk } from './wrk.ts';
const CLIENT = { clientId: 'c', clientSecret: 's' };
const tenant = await startTenant({ ...CLIENT, campaigns: ['c1'], rateLimit: null, record: false });
const issuer = await startDevIssuer();
const token = await issuer.mint({ roles: ['CERT_ADMIN'] }, { expiresInS: 3600 });
const child = spawn('taskset', ['-c', '1', process.execPath, 'src/main.ts'], {
  env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOST: '127.0.0.1', PORT: '18555', LOG_LEVEL: process.env.XLOG ?? 'info',
    UPSTREAM_BASE_URL: tenant.origin, UPSTREAM_CLIENT_ID: 'c', UPSTREAM_CLIENT_SECRET: 's', AUTH_JWKS_URL: issuer.jwksUrl, AUTH_ISSUER: issuer.issuer, AUTH_AUDIENCE: issuer.audience,
    UPSTREAM_RATE_LIMIT: '100000', UPSTREAM_RATE_WINDOW_MS: '1000', UPSTREAM_RATE_BURST: '100000', UPSTREAM_MAX_CONCURRENCY: '1000', UPSTREAM_QUEUE_SIZE: '100000', UPSTREAM_QUEUE_PER_CALLER: '100000' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
await new Promise((r) => setTimeout(r, 1500));
console.log(await wrk('http://127.0.0.1:18555/v3/campaigns/c1/run-report/CAMPAIGN_STATUS_REPORT', { connections: 32, seconds: 15, method: 'POST', authorization: `Bearer ${token}` }));
child.kill('SIGINT');
await new Promise((r) => child.once('exit', r));
await tenant.close(); await issuer.close();
