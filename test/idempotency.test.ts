import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { CAMPAIGN, runReportPath, startHarness, type Harness } from './support/harness.ts';

describe('Idempotency-Key on report starts', () => {
  let h: Harness;
  let alice: string;
  let bob: string;
  before(async () => {
    h = await startHarness({ env: { IDEMPOTENCY_TTL_MS: '1500' } });
    alice = `Bearer ${await h.token({ sub: 'alice', roles: ['CERT_ADMIN'] })}`;
    bob = `Bearer ${await h.token({ sub: 'bob', roles: ['CERT_ADMIN'] })}`;
  });
  after(() => h.close());
  beforeEach(() => {
    h.tenant.requests.length = 0;
    h.tenant.clearFaults();
  });

  const start = (authorization: string, key?: string, path = runReportPath()) => {
    const r = request(h.url).post(path).set('Authorization', authorization);
    return key === undefined ? r : r.set('Idempotency-Key', key);
  };

  it('When the same key is sent twice, then the second gets the first result without an upstream call', async () => {
    const first = await start(alice, 'key-1');
    const second = await start(alice, 'key-1');
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.deepEqual(second.body, first.body);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(h.tenant.requests.length, 1);
  });

  it('When a double-click sends the same key twice at once, then one report starts', async () => {
    h.tenant.addFault('runReport', { kind: 'delay-headers', ms: 200 });
    const [a, b] = await Promise.all([start(alice, 'double-click'), start(alice, 'double-click')]);
    assert.deepEqual([a.status, b.status], [202, 202]);
    assert.equal(h.tenant.requests.length, 1);
  });

  it('Keys are per caller: another caller with the same key starts its own report', async () => {
    await start(alice, 'shared-key');
    const other = await start(bob, 'shared-key');
    assert.equal(other.status, 202);
    assert.equal(other.headers['idempotent-replayed'], undefined);
    assert.equal(h.tenant.requests.length, 2);
  });

  it('When a key is reused for a different report, then 400 and nothing goes upstream', async () => {
    await start(alice, 'reused');
    const different = await start(alice, 'reused', runReportPath(CAMPAIGN, 'CAMPAIGN_COMPOSITION_REPORT'));
    assert.equal(different.status, 400);
    assert.match(different.body.messages[0].text, /different request/);
    assert.equal(h.tenant.requests.length, 1);
  });

  it('When the first call failed in a retryable way, then a repeat with the key tries again', async () => {
    h.tenant.addFault('runReport', { kind: 'status', status: 503 }, 3);
    const failed = await start(alice, 'retry-me');
    assert.equal(failed.status, 502);
    const again = await start(alice, 'retry-me');
    assert.equal(again.status, 202);
    assert.equal(again.headers['idempotent-replayed'], undefined);
    assert.equal(h.tenant.requests.length, 4);
  });

  it('When the TTL has passed, then the key starts a new report', async () => {
    await start(alice, 'short-lived');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const later = await start(alice, 'short-lived');
    assert.equal(later.headers['idempotent-replayed'], undefined);
    assert.equal(h.tenant.requests.length, 2);
  });

  it('Without the header nothing changes: two calls, two reports', async () => {
    await start(alice);
    await start(alice);
    assert.equal(h.tenant.requests.length, 2);
  });

  it('A malformed key is a 400', async () => {
    for (const key of ['x'.repeat(256), 'spaces are not allowed']) {
      const response = await start(alice, key);
      assert.equal(response.status, 400, key.slice(0, 20));
    }
    assert.equal(h.tenant.requests.length, 0);
  });
});
