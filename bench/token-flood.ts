// Measures the gateway process's RSS under a flood of distinct, valid, large tokens (issue: the
// verified-token cache bounded in bytes). N tokens (default 48 000) of PAD bytes of padding
// (default 10 500, about 15 KB once signed). Run: node bench/token-flood.ts
import { Agent } from 'undici';
import { startProcessSetup } from '../test/support/gateway-process.ts';
import { operation, pathOf } from '../src/operations/table.ts';
const N = Number(process.env.N ?? 48_000);
const setup = await startProcessSetup({ campaigns: ['c1'] }, { AUDIT_LOG: '/dev/null', UPSTREAM_RATE_LIMIT: '100000', UPSTREAM_RATE_WINDOW_MS: '1000' });
const agent = new Agent({ connections: 16 });
const url = new URL(setup.gateway.url);
const pad = 'x'.repeat(Number(process.env.PAD ?? 10_500));
const before = setup.gateway.memory();
let sent = 0;
const t0 = Date.now();
async function worker() {
  while (sent < N) {
    const i = sent++;
    const token = await setup.issuer.mint({ roles: ['CERT_ADMIN'], pad, jti: String(i) }, { expiresInS: 3600 });
    // /v3 path that needs auth but does not go upstream: a 403 after verification (no grant for export).
    const r = await agent.request({ origin: url.origin, path: pathOf(operation('exportNonEmployeeRecords'), { id: 's1' }), method: 'GET', headers: { authorization: `Bearer ${token}` } });
    if (r.statusCode !== 403) throw new Error('status ' + r.statusCode);
    await r.body.dump();
  }
}
await Promise.all(Array.from({ length: 16 }, worker));
await new Promise((r) => setTimeout(r, 2000));
const after = setup.gateway.memory();
console.log(JSON.stringify({ N, tokenBytes: pad.length, seconds: (Date.now() - t0) / 1000, rssBeforeMiB: Math.round(before.rssBytes / 2 ** 20), rssAfterMiB: Math.round(after.rssBytes / 2 ** 20), peakMiB: Math.round(after.peakBytes / 2 ** 20) }));
await agent.close();
await setup.close();
