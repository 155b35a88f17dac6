import assert from 'node:assert/strict';
import http from 'node:http';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import request from 'supertest';
import { realisticCsv } from '../src/sandbox/csv.ts';
import { eventually, exportPath, runReportPath, startHarness, type Harness } from './support/harness.ts';

const SOURCE = 'src-1';
const CSV = realisticCsv(50);

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('upstream answers and faults', () => {
  let h: Harness;
  let caller: string;
  before(async () => {
    h = await startHarness({
      env: { UPSTREAM_RETRIES: '2', UPSTREAM_TIMEOUT_MS: '400' },
      tenant: { sources: { [SOURCE]: { kind: 'fixed', body: CSV, contentLength: false } } },
    });
    caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
  });
  after(() => h.close());
  beforeEach(() => {
    h.tenant.clearFaults();
    h.tenant.requests.length = 0;
  });

  const runReport = () => request(h.url).post(runReportPath()).set('Authorization', caller);
  const download = () => request(h.url).get(exportPath(SOURCE)).set('Authorization', caller);

  it('When the upstream answers 400, then its status and body are relayed', async () => {
    const body = { detailCode: '400.1 Bad Request Content', trackingId: 'up-1', messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text: 'bad' }] };
    h.tenant.addFault('runReport', { kind: 'status', status: 400, body });
    const response = await runReport();
    assert.equal(response.status, 400);
    assert.deepEqual(response.body, body);
    assert.equal(h.tenant.requests.length, 1);
  });

  it('When the upstream answers 404 or 403, then they are relayed without retry', async () => {
    h.tenant.addFault('export', { kind: 'status', status: 404 });
    h.tenant.addFault('runReport', { kind: 'status', status: 403 });
    const missing = await download();
    assert.equal(missing.status, 404);
    assert.equal(missing.body.detailCode, '404 Not found');
    const forbidden = await runReport();
    assert.equal(forbidden.status, 403);
    assert.equal(h.tenant.requests.length, 2);
  });

  it('When the upstream answers 503 then succeeds, then the caller sees success (GET and POST)', async () => {
    h.tenant.addFault('runReport', { kind: 'status', status: 503 });
    h.tenant.addFault('export', { kind: 'status', status: 503 });
    assert.equal((await runReport()).status, 202);
    const csv = await download();
    assert.equal(csv.status, 200);
    assert.equal(csv.text, CSV.toString());
    assert.equal(h.tenant.requests.length, 4);
  });

  it('When the upstream answers 502 or 504 to the GET, then it is retried', async () => {
    h.tenant.addFault('export', { kind: 'status', status: 502 });
    h.tenant.addFault('export', { kind: 'status', status: 504 });
    assert.equal((await download()).status, 200);
    assert.equal(h.tenant.requests.length, 3);
  });

  it('When the upstream answers 502 to the report POST, then it is not repeated (it may have started) and the caller gets 502', async () => {
    h.tenant.addFault('runReport', { kind: 'status', status: 502 });
    const response = await runReport();
    assert.equal(response.status, 502);
    assert.equal(response.body.detailCode, '502 Bad Gateway');
    assert.equal(h.tenant.requests.length, 1);
  });

  it('When the upstream answers 500, then 502 without retry', async () => {
    h.tenant.addFault('export', { kind: 'status', status: 500 });
    const response = await download();
    assert.equal(response.status, 502);
    assert.equal(h.tenant.requests.length, 1);
  });

  it('When the upstream answers 429 with Retry-After, then the call waits that long and succeeds', async () => {
    h.tenant.addFault('runReport', { kind: 'status', status: 429, retryAfter: '1' });
    const response = await runReport();
    assert.equal(response.status, 202);
    const [first, second] = h.tenant.requests;
    assert.ok(first && second);
    assert.ok(second.atMs - first.atMs >= 950, `retried after ${second.atMs - first.atMs} ms`);
  });

  it('When retries are exhausted on 503, then 502 after exactly 1 + UPSTREAM_RETRIES attempts', async () => {
    h.tenant.addFault('export', { kind: 'status', status: 503 }, 5);
    const response = await download();
    assert.equal(response.status, 502);
    assert.equal(response.body.trackingId, response.headers['x-request-id']);
    assert.equal(h.tenant.requests.length, 3);
  });

  it('When the connection is reset before any answer, then the GET is retried and the POST is not', async () => {
    h.tenant.addFault('export', { kind: 'reset-before-headers' });
    assert.equal((await download()).status, 200);
    assert.equal(h.tenant.requests.length, 2);
    h.tenant.requests.length = 0;
    h.tenant.addFault('runReport', { kind: 'reset-before-headers' });
    assert.equal((await runReport()).status, 502);
    assert.equal(h.tenant.requests.length, 1);
  });

  it('When the report answer is cut mid-body, then 502 and the POST is not repeated (it reached SailPoint)', async () => {
    h.tenant.addFault('runReport', { kind: 'reset-mid-body', afterBytes: 100 });
    const response = await runReport();
    assert.equal(response.status, 502);
    assert.equal(response.body.detailCode, '502 Bad Gateway');
    assert.equal(h.tenant.requests.length, 1);
  });

  it('When the report answer is larger than 1 MiB, then 502 naming it, and the POST is not repeated', async () => {
    h.tenant.addFault('runReport', { kind: 'status', status: 202, body: { padding: 'x'.repeat(1024 * 1024) } });
    const response = await runReport();
    assert.equal(response.status, 502);
    assert.match(response.body.messages[0].text, /oversized body/);
    assert.equal(h.tenant.requests.length, 1);
    // The connection it arrived on was dropped, not left half-read: the next call goes through.
    assert.equal((await runReport()).status, 202);
  });

  it('When the upstream stalls before its headers, then the GET is retried and gives 504; the POST gives 504 at once', async () => {
    h.tenant.addFault('export', { kind: 'stall-headers' }, 3);
    const slow = await download();
    assert.equal(slow.status, 504);
    assert.equal(slow.body.detailCode, '504 Gateway Timeout');
    assert.equal(h.tenant.requests.length, 3);
    h.tenant.requests.length = 0;
    h.tenant.addFault('runReport', { kind: 'stall-headers' });
    assert.equal((await runReport()).status, 504);
    assert.equal(h.tenant.requests.length, 1);
  });

  it('When the upstream answers 401, then the gateway refreshes its credential exactly once and succeeds', async () => {
    const fetches = h.tenant.tokenRequests;
    h.tenant.revokeTokens();
    const response = await runReport();
    assert.equal(response.status, 202);
    assert.equal(h.tenant.tokenRequests, fetches + 1);
    assert.equal(h.tenant.requests.length, 2);
  });

  it('When the upstream answers 401 even to a fresh credential, then 502 (never 401) after one refresh', async () => {
    const fetches = h.tenant.tokenRequests;
    h.tenant.addFault('runReport', { kind: 'status', status: 401 }, 2);
    const response = await runReport();
    assert.equal(response.status, 502);
    assert.equal(h.tenant.tokenRequests, fetches + 1);
    assert.equal(h.tenant.requests.length, 2);
  });
});

describe('upstream 429 cool-down', () => {
  it('When the upstream answers 429 with a long Retry-After, then the caller gets 429 in the contract shape and every other call cools down too', async () => {
    const h = await startHarness({ env: { UPSTREAM_RETRY_AFTER_CAP_MS: '30000' } });
    try {
      const caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
      h.tenant.addFault('runReport', { kind: 'status', status: 429, retryAfter: '120' });
      const response = await request(h.url).post(runReportPath()).set('Authorization', caller);
      assert.equal(response.status, 429);
      assert.deepEqual(response.body, { message: 'Rate Limit Exceeded' });
      assert.equal(response.headers['retry-after'], '120');
      assert.equal(h.tenant.requests.length, 1, 'a Retry-After beyond the cap is not waited for');
      // Another caller, another operation: refused at once, without an upstream call.
      const other = `Bearer ${await h.token({ sub: 'bob', scope: 'idn:nesr:read' })}`;
      const cooled = await request(h.url).get(exportPath(SOURCE)).set('Authorization', other);
      assert.equal(cooled.status, 429);
      assert.ok(Number(cooled.headers['retry-after']) >= 29, `Retry-After ${cooled.headers['retry-after']}`);
      assert.equal(h.tenant.requests.length, 1);
    } finally {
      await h.close();
    }
  });

  it('When the upstream answers 429 with Retry-After: 1, then calls from others wait for the pause too, then go', async () => {
    const h = await startHarness();
    try {
      const caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`;
      h.tenant.addFault('runReport', { kind: 'status', status: 429, retryAfter: '1' });
      // supertest sends on then(); start the first call now.
      const first = request(h.url).post(runReportPath()).set('Authorization', caller).then((r) => r);
      await eventually(() => h.tenant.requests.length === 1, 'the 429 was answered');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const second = request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ sub: 'carol', roles: ['CERT_ADMIN'] })}`);
      const [a, b] = await Promise.all([first, second]);
      assert.equal(a.status, 202);
      assert.equal(b.status, 202);
      const [rejected, ...later] = h.tenant.requests;
      assert.ok(rejected);
      for (const arrival of later) assert.ok(arrival.atMs - rejected.atMs >= 950, `a call went out ${arrival.atMs - rejected.atMs} ms after the 429`);
    } finally {
      await h.close();
    }
  });
});

describe('the gateway credential', () => {
  it('When many calls arrive at a cold gateway, then one token fetch serves them all', async () => {
    const h = await startHarness({ cold: true });
    try {
      const caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`;
      const responses = await Promise.all(Array.from({ length: 25 }, () => request(h.url).post(runReportPath()).set('Authorization', caller)));
      assert.ok(responses.every((r) => r.status === 202));
      assert.equal(h.tenant.tokenRequests, 1);
    } finally {
      await h.close();
    }
  });

  it('When the token endpoint is unreachable, then 503 with Retry-After (never 401) and readiness fails', async () => {
    const port = await closedPort();
    const h = await startHarness({ cold: true, env: { UPSTREAM_TOKEN_URL: `http://127.0.0.1:${port}/oauth/token` } });
    try {
      const caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`;
      const response = await request(h.url).post(runReportPath()).set('Authorization', caller);
      assert.equal(response.status, 503);
      assert.ok(Number(response.headers['retry-after']) >= 1);
      assert.equal(response.body.detailCode, '503 Service Unavailable');
      assert.equal(h.tenant.requests.length, 0);
      const ready = await request(h.url).get('/readyz');
      assert.equal(ready.status, 503);
      assert.ok(ready.body.checks.some((c: { name: string; ready: boolean }) => c.name === 'upstreamCredential' && !c.ready));
    } finally {
      await h.close();
    }
  });

  it('When the token endpoint fails once, then callers get 503 and the next call after the cooldown recovers', async () => {
    const h = await startHarness({ cold: true });
    try {
      h.tenant.addFault('token', { kind: 'status', status: 500 });
      const caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`;
      assert.equal((await request(h.url).post(runReportPath()).set('Authorization', caller)).status, 503);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      assert.equal((await request(h.url).post(runReportPath()).set('Authorization', caller)).status, 202);
    } finally {
      await h.close();
    }
  });

  it('When the upstream refuses connections, then the POST is retried (it never arrived) and ends in 502', async () => {
    const port = await closedPort();
    const h = await startHarness({ cold: true, env: { UPSTREAM_RETRIES: '1' } });
    const other = await startHarness({
      env: { UPSTREAM_BASE_URL: `http://127.0.0.1:${port}`, UPSTREAM_TOKEN_URL: h.tenant.tokenUrl, UPSTREAM_RETRIES: '1', AUTH_JWKS_URL: h.issuer.jwksUrl },
    });
    try {
      const caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`;
      const response = await request(other.url).post(runReportPath()).set('Authorization', caller);
      assert.equal(response.status, 502);
      const access = other.logs().find((l) => l.msg === 'request completed');
      assert.equal(access?.upstreamAttempts, 2);
    } finally {
      await other.close();
      await h.close();
    }
  });
});

describe('a caller that leaves', () => {
  it('When the caller goes away while its report call is in flight, then the upstream exchange is cut at once and its slot freed', async () => {
    // A headers timeout far beyond the wait below: only cutting the exchange can end it in time.
    const h = await startHarness({ env: { UPSTREAM_TIMEOUT_MS: '20000' } });
    try {
      const metric = (text: string, name: string) => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ').at(-1) ?? 0);
      const aborted = 'gateway_upstream_calls_total{operation="startCampaignReport",result="caller_aborted"}';
      h.tenant.addFault('runReport', { kind: 'delay-headers', ms: 10_000 });
      const leaving = http.request(`${h.url}${runReportPath()}`, { method: 'POST', headers: { authorization: `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}` } });
      leaving.on('error', () => {});
      leaving.end();
      await eventually(() => h.tenant.requests.length === 1, 'the call reached the tenant');
      leaving.destroy();
      let text = '';
      for (let i = 0; i < 100 && metric(text, aborted) === 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        text = (await request(h.url).get('/metrics')).text;
      }
      assert.equal(metric(text, aborted), 1, 'the call ended as caller_aborted before the tenant answered');
      assert.equal(metric(text, 'gateway_upstream_in_flight'), 0);
    } finally {
      await h.close();
    }
  });
});
