import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startHarness, type Harness } from './support/harness.ts';

describe('health and readiness', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('/healthz answers 200 while the process is alive', async () => {
    const response = await request(h.url).get('/healthz');
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, { status: 'ok' });
  });

  it('/readyz answers 200 naming each dependency, and a warm gateway probes without any upstream or IdP call', async () => {
    const tokenFetches = h.tenant.tokenRequests;
    const jwksFetches = h.issuer.jwksRequests;
    for (let i = 0; i < 5; i += 1) {
      const response = await request(h.url).get('/readyz');
      assert.equal(response.status, 200);
      assert.deepEqual(response.body.checks.map((c: { name: string; ready: boolean; state: string }) => [c.name, c.ready, c.state]), [
        ['callerKeys', true, 'ok'],
        ['upstreamCredential', true, 'ok'],
        ['upstreamBudget', true, 'ok'],
      ]);
    }
    assert.equal(h.tenant.tokenRequests, tokenFetches);
    assert.equal(h.issuer.jwksRequests, jwksFetches);
    assert.equal(h.tenant.requests.length, 0);
  });

  it('When the gateway starts draining, then /readyz answers 503 at once, naming the drain', async () => {
    const h2 = await startHarness();
    try {
      h2.gateway.startDraining();
      const response = await request(h2.url).get('/readyz');
      assert.equal(response.status, 503);
      assert.ok(response.body.checks.some((c: { name: string; ready: boolean }) => c.name === 'draining' && !c.ready));
      assert.equal((await request(h2.url).get('/healthz')).status, 200, 'alive while draining');
    } finally {
      await h2.close();
    }
  });

  it('At start, one log line per dependency says whether it works', () => {
    const lines = h.logs().filter((l) => l.msg === 'dependency ready' || l.msg === 'dependency not ready');
    assert.deepEqual(lines.map((l) => [l.dependency, l.ready]), [
      ['callerKeys', true],
      ['upstreamCredential', true],
      ['upstreamBudget', true],
    ]);
  });
});
