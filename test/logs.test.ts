import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { lineOf } from '../src/log.ts';
import { realisticCsv } from '../src/sandbox/csv.ts';
import { startProcessSetup, type GatewayProcess } from './support/gateway-process.ts';
import { CLIENT_SECRET, eventually, exportPath, runReportPath, startHarness, type Harness } from './support/harness.ts';

describe('logs', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness({ tenant: { sources: { s1: { kind: 'fixed', body: realisticCsv(100), contentLength: false } } } });
    token = await h.token({ sub: 'alice@example.com', roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' });
    // Exercise every path that handles a secret: success, a credential refresh, a refusal, a retry.
    await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${token}`).set('Cookie', 'session=cookie-secret-value');
    h.tenant.revokeTokens();
    await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${token}`);
    await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${token}x`);
    await request(h.url).get(exportPath('s1')).set('Authorization', `Bearer ${token}`).set('X-Request-Id', 'req-log-export');
    const reader = await h.token({ sub: 'bob@example.com', scope: 'idn:nesr:read' });
    await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${reader}`).set('X-Request-Id', 'req-log-403').expect(403);
    h.tenant.addFault('export', { kind: 'status', status: 503 });
    await request(h.url).get(exportPath('s1')).set('Authorization', `Bearer ${token}`).set('X-Request-Id', 'req-log-retry');
  });
  after(() => h.close());

  it('No secret reaches a log: caller token, cookies, the client secret, upstream access tokens', () => {
    const all = h.rawLogs();
    assert.ok(all.length > 0);
    assert.ok(h.tenant.issuedTokens.length >= 2);
    for (const secret of [token, token.split('.')[2] as string, 'cookie-secret-value', CLIENT_SECRET, ...h.tenant.issuedTokens]) {
      assert.equal(all.includes(secret), false, `a log line contains ${secret.slice(0, 12)}…`);
    }
    assert.equal(/bearer\s+[A-Za-z0-9]/i.test(all), false);
  });

  it('One access line per request with id, route template, status, duration, subject, attempts and bytes', () => {
    const lines = h.logs().filter((l) => l.requestId === 'req-log-export' && l.msg === 'request completed');
    assert.equal(lines.length, 1);
    const line = lines[0] as Record<string, unknown>;
    assert.equal(line.route, 'GET /v3/non-employee-sources/{id}/non-employees/download');
    assert.equal(line.status, 200);
    assert.equal(typeof line.durationMs, 'number');
    assert.equal(line.subject, 'alice@example.com');
    assert.equal(line.grant, 'scope:idn:nesr:read');
    assert.equal(line.upstreamAttempts, 1);
    assert.equal(line.bytes, realisticCsv(100).length);
  });

  it('A 403 writes one line, its access line, naming the caller and the grants it lacks: a flood of them writes nothing else', () => {
    const about = h.logs().filter((l) => l.requestId === 'req-log-403');
    const lines = about.filter((l) => l.kind !== 'audit');
    assert.deepEqual(lines.map((l) => l.msg), ['request completed']);
    assert.equal(about.length - lines.length, 1, 'and its audit record, on the same stream');
    const line = lines[0] as Record<string, unknown>;
    assert.equal(line.status, 403);
    assert.equal(line.subject, 'bob@example.com');
    assert.match(String(line.error), /any of: role:CERT_ADMIN/);
  });

  it('Every line about a request carries its request id', () => {
    const retried = h.logs().filter((l) => l.requestId === 'req-log-retry');
    assert.ok(retried.some((l) => l.msg === 'upstream attempt will be retried'));
    assert.ok(retried.some((l) => l.msg === 'upstream attempt'));
    const access = retried.find((l) => l.msg === 'request completed');
    assert.equal(access?.upstreamAttempts, 2);
    const refresh = h.logs().find((l) => l.msg === 'upstream answered 401; refreshing the gateway credential once');
    assert.ok(refresh && typeof refresh.requestId === 'string');
  });
});

// The gateway as its own process, its stdout a pipe as under a container runtime or a supervisor.
describe('logs, when the reader of stdout stops reading', () => {
  const CALLS = 2000;
  const unknownPath = (n: number) => `/v3/no-such-thing/${n}`;
  const answerAll = (url: string) =>
    Promise.all(Array.from({ length: CALLS }, (_, n) => fetch(`${url}${unknownPath(n)}`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.status)));

  /**
   * A gateway process whose stdout is not read while it answers CALLS calls (about 900 KB of
   * access lines: more than a pipe holds, less than the gateway's 1 MiB of room); then `rest`.
   * Reading resumes before it is closed, whatever happened.
   */
  async function withReaderStalled(rest: (gateway: GatewayProcess, statuses: number[]) => Promise<void>): Promise<void> {
    const setup = await startProcessSetup({});
    try {
      setup.gateway.child.stdout?.pause();
      await rest(setup.gateway, await answerAll(setup.gateway.url));
    } finally {
      setup.gateway.child.stdout?.resume();
      await setup.close();
    }
  }

  it('the gateway keeps answering, and the lines kept waiting come out once it reads again', () =>
    withReaderStalled(async (gateway, statuses) => {
      assert.deepEqual(new Set(statuses), new Set([404]));
      gateway.child.stdout?.resume();
      const written = () => gateway.stdout().split('\n').filter((l) => l.includes('"msg":"request completed"') && l.includes('/v3/no-such-thing/')).length;
      await eventually(() => written() === CALLS, `all ${CALLS} access lines written`, 10_000);
    }));

  it('When it is stopped meanwhile, then it writes its last lines before it exits', () =>
    withReaderStalled(async (gateway) => {
      const exited = gateway.stop();
      await new Promise((resolve) => setTimeout(resolve, 300));
      gateway.child.stdout?.resume();
      assert.equal(await exited, 0);
      assert.match(gateway.stdout(), /"msg":"stopped"/);
    }));

  it('When it is stopped and the reader never reads again, then it still exits, 5 s after its drain', () =>
    withReaderStalled(async (gateway) => {
      const stoppedAt = Date.now();
      const code = await Promise.race([gateway.stop(), new Promise((resolve) => setTimeout(resolve, 20_000, 'still running'))]);
      assert.equal(code, 0);
      assert.ok(Date.now() - stoppedAt >= 4000, 'it waited for the reader first');
    }));
});

describe('the access line as written', () => {
  it('Is the line the fields spread into pino\'s shape would make: same keys in the same order, undefined left out', () => {
    const time = '2026-12-02T04:30:00.123Z';
    for (const fields of [
      { requestId: 'r1', path: '/v3/a "quoted" \\ path\n', status: 202, durationMs: 1.5, subject: undefined, completed: true, error: 'ü€' },
      {},
      { only: undefined },
    ]) {
      const line = lineOf('warn', time, fields, 'request completed');
      assert.equal(line, `${JSON.stringify({ level: 'warn', time, service: 'sailpoint-gateway', ...fields, msg: 'request completed' })}\n`);
      assert.deepEqual(Object.keys(JSON.parse(line)).slice(0, 3), ['level', 'time', 'service']);
    }
  });
});
