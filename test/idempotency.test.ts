import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { memoryIdempotencyStore, redisIdempotencyStore, type IdempotencyStore } from '../src/idempotency/store.ts';
import { createLogger } from '../src/log.ts';
import { createRedisClient } from '../src/redis.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { CAMPAIGN, eventually, runReportPath, startHarness, type Harness } from './support/harness.ts';

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

// Each way a first call can end, against the tenant's own count of the POSTs it received.
for (const store of ['in process', 'Redis'] as const) {
  describe(`Idempotency-Key outcomes (records ${store})`, () => {
    let h: Harness;
    let redis: RedisServer | undefined;
    // A caller of its own for each test: IDEMPOTENCY_MAX_KEYS_PER_CALLER is 5 here.
    let alice: string;
    let mallory: string;
    before(async () => {
      redis = store === 'Redis' ? await startRedis() : undefined;
      h = await startHarness({
        env: { UPSTREAM_TIMEOUT_MS: '300', IDEMPOTENCY_MAX_KEYS_PER_CALLER: '5', ...(redis ? { REDIS_URL: redis.url } : {}) },
      });
    });
    after(async () => {
      await h.close();
      await redis?.stop();
    });
    beforeEach(async () => {
      h.tenant.requests.length = 0;
      h.tenant.clearFaults();
      alice = `Bearer ${await h.token({ sub: `alice-${randomUUID()}`, roles: ['CERT_ADMIN'] })}`;
      mallory = `Bearer ${await h.token({ sub: `mallory-${randomUUID()}`, roles: ['CERT_ADMIN'] })}`;
    });

    const start = (authorization: string, key: string) => request(h.url).post(runReportPath()).set('Authorization', authorization).set('Idempotency-Key', key);
    const posts = () => h.tenant.requests.filter((r) => r.operation === 'runReport').length;

    for (const [name, fault, status] of [
      ['the tenant resets the connection after receiving the POST', { kind: 'reset-before-headers' }, 502],
      ['the answer times out after the POST was sent', { kind: 'stall-headers' }, 504],
      ['the tenant answers 502', { kind: 'status', status: 502 }, 502],
      ['the tenant answers 504', { kind: 'status', status: 504 }, 502],
      ['the tenant answers 500', { kind: 'status', status: 500 }, 502],
    ] as const) {
      it(`When ${name}, then the outcome is unknown: the key is kept and a repeat gets the same answer, not a second report`, async () => {
        h.tenant.addFault('runReport', fault);
        const key = `unknown-${fault.kind}-${'status' in fault ? fault.status : ''}`;
        const first = await start(alice, key);
        assert.equal(first.status, status);
        const repeat = await start(alice, key);
        assert.equal(repeat.status, status);
        assert.equal(repeat.headers['idempotent-replayed'], 'true');
        assert.deepEqual(repeat.body, first.body);
        assert.equal(posts(), 1);
      });
    }

    it('When the caller leaves after the POST was sent, then a repeat gets "outcome unknown", not a second report', async () => {
      h.tenant.addFault('runReport', { kind: 'delay-headers', ms: 300 });
      const abort = new AbortController();
      const gone = fetch(`${h.url}${runReportPath()}`, { method: 'POST', headers: { authorization: alice, 'idempotency-key': 'left-after-send' }, signal: abort.signal }).catch((e: Error) => e);
      await eventually(() => posts() === 1, 'the POST reached the tenant');
      abort.abort();
      await gone;
      await new Promise((resolve) => setTimeout(resolve, 400));
      const repeat = await start(alice, 'left-after-send');
      assert.equal(repeat.status, 502);
      assert.equal(repeat.headers['idempotent-replayed'], 'true');
      assert.match(repeat.body.messages[0].text, /whether the report started is unknown/);
      assert.equal(posts(), 1);
    });

    for (const [name, status] of [
      ['the tenant answers 429 to every attempt', 429],
      ['the tenant answers 503 to every attempt', 503],
    ] as const) {
      it(`When ${name}, then nothing started: the key is freed and a repeat starts the report`, async () => {
        // Retry-After: 1, so the gateway's shared pause is over by the time the repeat comes.
        h.tenant.addFault('runReport', { kind: 'status', status, retryAfter: '1' }, 3);
        const key = `declined-${status}`;
        const first = await start(alice, key);
        assert.equal(first.status, status === 429 ? 429 : 502);
        assert.equal(posts(), 3, 'the POST was retried: SailPoint said it did not process it');
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const again = await start(alice, key);
        assert.equal(again.status, 202);
        assert.equal(again.headers['idempotent-replayed'], undefined, 'the key was freed: this is a first call again');
        assert.equal(posts(), 4);
      });
    }

    it('When the gateway cannot get its credential (nothing sent), then the key is freed and a repeat starts the report', async () => {
      const cold = await startHarness({ cold: true, env: redis ? { REDIS_URL: redis.url } : {} });
      try {
        const caller = `Bearer ${await cold.token({ sub: 'alice', roles: ['CERT_ADMIN'] })}`;
        cold.tenant.addFault('token', { kind: 'status', status: 500 });
        const first = await request(cold.url).post(runReportPath()).set('Authorization', caller).set('Idempotency-Key', 'no-credential');
        assert.equal(first.status, 503);
        await new Promise((resolve) => setTimeout(resolve, 2100)); // the token endpoint's failure cool-down
        const again = await request(cold.url).post(runReportPath()).set('Authorization', caller).set('Idempotency-Key', 'no-credential');
        assert.equal(again.status, 202);
        assert.equal(again.headers['idempotent-replayed'], undefined);
        assert.equal(cold.tenant.requests.filter((r) => r.method === 'POST' && r.operation === 'runReport').length, 1);
      } finally {
        await cold.close();
      }
    });

    it('When one caller uses more keys than its share, then it is refused new ones and another caller\'s record stays', async () => {
      const mine = await start(alice, 'alice-keeps-this');
      assert.equal(mine.status, 202);
      const flood = [];
      for (let i = 0; i < 8; i += 1) flood.push(await start(mallory, `flood-${i}`));
      assert.deepEqual(flood.map((r) => r.status), [202, 202, 202, 202, 202, 429, 429, 429]);
      assert.match(flood[5]!.headers['retry-after'] as string, /^\d+$/);
      const repeat = await start(alice, 'alice-keeps-this');
      assert.equal(repeat.status, 202);
      assert.equal(repeat.headers['idempotent-replayed'], 'true');
      assert.equal(posts(), 1 + 5);
    });
  });
}

describe('idempotency records are bounded per caller (the 10 050-key attack, at the default limits)', () => {
  const limits = { ttlMs: 600_000, maxKeysPerCaller: 1000 };
  const attack = async (store: IdempotencyStore) => {
    assert.deepEqual(await store.claim({ caller: 'alice', key: 'mine' }, 'c/TYPE'), { state: 'new' });
    await store.complete({ caller: 'alice', key: 'mine' }, { status: 202, contentType: 'application/json', body: '{}' });
    const states: Record<string, number> = {};
    for (let i = 0; i < 10_050; i += 1) {
      const claim = await store.claim({ caller: 'mallory', key: `k-${i}` }, 'c/TYPE');
      states[claim.state] = (states[claim.state] ?? 0) + 1;
    }
    assert.deepEqual(states, { new: 1000, full: 9050 });
    assert.deepEqual(await store.claim({ caller: 'alice', key: 'mine' }, 'c/TYPE'), { state: 'done', result: { status: 202, contentType: 'application/json', body: '{}' } });
  };

  it('in process', () => attack(memoryIdempotencyStore(limits)));

  it('in Redis', async () => {
    const server = await startRedis();
    const redis = createRedisClient(server.url);
    try {
      await redis.connect();
      await attack(redisIdempotencyStore(redis, limits, createLogger('silent')));
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
