import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDevIssuer, type DevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant, type Tenant } from '../src/sandbox/tenant.ts';
import { startGatewayProcess, type GatewayProcess } from './support/gateway-process.ts';
import { CAMPAIGN, CLIENT_ID, CLIENT_SECRET, eventually, runReportPath, targetEnv } from './support/harness.ts';
import { startRedis, type RedisServer } from './support/redis.ts';
import { maxInAnyWindow } from './support/windows.ts';

const LIMIT = 10;
const WINDOW_MS = 1000;

describe('two replicas sharing one budget through Redis', () => {
  let redis: RedisServer;
  let tenant: Tenant;
  let issuer: DevIssuer;
  let replicas: GatewayProcess[];
  let caller: string;

  before(async () => {
    redis = await startRedis();
    tenant = await startTenant({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, campaigns: [CAMPAIGN], rateLimit: { limit: LIMIT, windowMs: WINDOW_MS } });
    issuer = await startDevIssuer();
    const env = {
      ...targetEnv(tenant, issuer),
      REDIS_URL: redis.url,
      UPSTREAM_RATE_LIMIT: String(LIMIT),
      UPSTREAM_RATE_WINDOW_MS: String(WINDOW_MS),
      UPSTREAM_QUEUE_WAIT_MS: '15000',
      UPSTREAM_DEADLINE_MS: '30000',
      REDIS_FALLBACK_PERCENT: '30',
    };
    replicas = await Promise.all([startGatewayProcess(env), startGatewayProcess(env)]);
    caller = `Bearer ${await issuer.mint({ roles: ['CERT_ADMIN'] }, { expiresInS: 600 })}`;
    for (const replica of replicas) {
      await eventually(() => replica.stdout().includes('upstream budget shared across replicas'), 'replica joined the shared budget');
    }
  });
  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await redis.stop();
    await Promise.all([tenant.close(), issuer.close()]);
  });

  const call = (replica: GatewayProcess) =>
    fetch(`${replica.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller } }).then(async (r) => {
      await r.arrayBuffer();
      return r.status;
    });

  function assertWithinBudget(): void {
    const worst = maxInAnyWindow(tenant.requests.map((r) => r.atMs), WINDOW_MS);
    assert.ok(worst <= LIMIT, `${worst} upstream arrivals within one ${WINDOW_MS} ms window`);
    assert.equal(tenant.rateLimited, 0, 'the tenant never had to answer 429');
  }

  it('When both replicas are flooded, then their combined upstream rate stays within the one budget', async () => {
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, i) => call(replicas[i % 2] as GatewayProcess)));
    const refusals = replicas.flatMap((r) => r.stdout().split('\n').filter((l) => l.includes('"status":429')));
    assert.deepEqual([...new Set(statuses)], [202], refusals.slice(0, 3).join('\n'));
    assert.equal(tenant.requests.length, 50);
    assertWithinBudget();
  });

  it('When the upstream answers 429 to one replica, then the other replica cools down too', async () => {
    tenant.requests.length = 0;
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    tenant.addFault('runReport', { kind: 'status', status: 429, retryAfter: '2' });
    const first = call(replicas[0] as GatewayProcess);
    await eventually(() => tenant.requests.length === 1, 'the 429 was answered');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = call(replicas[1] as GatewayProcess);
    assert.deepEqual(await Promise.all([first, second]), [202, 202]);
    const [refused, ...later] = tenant.requests;
    assert.ok(refused && later.length === 2);
    for (const arrival of later) {
      assert.ok(arrival.atMs - refused.atMs >= 1900, `a replica called ${(arrival.atMs - refused.atMs).toFixed(0)} ms after the 429`);
    }
  });

  it('When a front-end repeats a report start on the other replica with the same Idempotency-Key, then one report starts', async () => {
    tenant.requests.length = 0;
    const start = (replica: GatewayProcess) =>
      fetch(`${replica.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller, 'idempotency-key': 'cross-replica-1' } });
    const first = await start(replicas[0] as GatewayProcess);
    const second = await start(replicas[1] as GatewayProcess);
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(tenant.requests.length, 1);
  });

  it('When Redis goes away, then the replicas keep serving on a local share within the budget, say so, and rejoin when it returns', async () => {
    tenant.requests.length = 0;
    await redis.stop();
    const during = await Promise.all(Array.from({ length: 12 }, (_, i) => call(replicas[i % 2] as GatewayProcess)));
    assert.deepEqual([...new Set(during)], [202]);
    for (const replica of replicas) {
      assert.match(replica.stdout(), /Redis unreachable: upstream budget falls back to a local share/);
      const ready = await fetch(`${replica.url}/readyz`);
      assert.equal(ready.status, 200);
      const body = (await ready.json()) as { checks: Array<{ name: string; state: string; detail: string }> };
      const budget = body.checks.find((c) => c.name === 'upstreamBudget');
      assert.match(budget?.detail ?? '', /Redis unreachable/);
      assert.equal(budget?.state, 'degraded', 'serving, and saying it is degraded');
      const metrics = await (await fetch(`${replica.url}/metrics`)).text();
      assert.match(metrics, /^gateway_dependency_state\{dependency="upstreamBudget",state="degraded"\} 1$/m);
    }
    assertWithinBudget();

    await redis.restart();
    for (const replica of replicas) {
      await eventually(
        () => (replica.stdout().match(/upstream budget shared across replicas/g) ?? []).length >= 2,
        'replica rejoined the shared budget',
        15_000,
      );
    }
    const afterwards = await Promise.all(Array.from({ length: 20 }, (_, i) => call(replicas[i % 2] as GatewayProcess)));
    assert.deepEqual([...new Set(afterwards)], [202]);
    assertWithinBudget();
  });
});
