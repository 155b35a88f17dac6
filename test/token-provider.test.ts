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
});
