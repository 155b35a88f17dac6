import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { eventually, runReportPath, startHarness } from './support/harness.ts';

describe('the gateway credential over time', () => {
  it('When the token nears expiry, then it is refreshed in the background, before it expires, without traffic', async () => {
    const h = await startHarness({ tenant: { tokenLifetimeS: 2 } });
    try {
      assert.equal(h.tenant.tokenRequests, 1);
      // Refresh is due at 80 % of the lifetime (1.6 s); the token stops being usable at 1.8 s.
      await eventually(() => h.tenant.tokenRequests === 2, 'background refresh', 5000);
      const response = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`);
      assert.equal(response.status, 202);
      assert.equal(h.tenant.requests.at(-1)?.headers.authorization, `Bearer ${h.tenant.issuedTokens.at(-1)}`);
      const ready = await request(h.url).get('/readyz');
      assert.equal(ready.status, 200);
    } finally {
      await h.close();
    }
  });

  it('When a background refresh fails while the token is still usable, then calls go on and readiness says degraded', async () => {
    const h = await startHarness({ tenant: { tokenLifetimeS: 10 } });
    try {
      h.tenant.addFault('token', { kind: 'status', status: 503 }, 100);
      // Refresh is due at 8 s and fails; the held token stays usable until 9 s.
      await eventually(() => h.tenant.tokenRequests >= 2, 'the failed background refresh', 12_000);
      const ready = await request(h.url).get('/readyz');
      assert.equal(ready.status, 200);
      const credential = ready.body.checks.find((c: { name: string }) => c.name === 'upstreamCredential');
      assert.equal(credential.state, 'degraded');
      assert.match(credential.detail, /last refresh failed/);
      const metrics = (await request(h.url).get('/metrics')).text;
      assert.match(metrics, /^gateway_token_fetches_total\{result="failed"\} [1-9]/m);
    } finally {
      await h.close();
    }
  });
});
