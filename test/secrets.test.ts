// No secret reaches a log, an audit record, a caller or SailPoint where it does not belong. Every
// test that builds the gateway with startHarness() is checked: its close() scans the logs, the
// audit records, every answer (headers and the start of the body) and every request SailPoint
// received for the caller tokens minted, the upstream tokens issued, the client secret and the
// session secrets of that run, and fails on any. This file proves the scan can fail, and runs one
// broad pass of traffic, errors included, past it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { download } from './support/download.ts';
import { CLIENT_SECRET, exportPath, runReportPath, startHarness } from './support/harness.ts';
import { findLeaks } from './support/secret-scan.ts';

describe('the secret scan', () => {
  it('finds a token signature and a named secret wherever they are, and nothing in clean text', () => {
    const signature = 'MEUCIQDx1234567890abcdefghijklmnopqrstuvwxyzABCDEFGHIJ_-signature';
    const secrets = { named: [{ what: 'the client secret', value: CLIENT_SECRET }], signatures: { what: 'a caller token', values: new Set([signature]) } };
    assert.deepEqual(
      findLeaks(secrets, [
        { where: 'a log', text: `{"msg":"x","authorization":"Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.${signature}"}` },
        { where: 'a header', text: `{"x-debug":"${CLIENT_SECRET}"}` },
        { where: 'a clean body', text: '{"detailCode":"400.1 Bad Request Content","trackingId":"0123456789abcdef0123456789abcdef"}' },
      ]),
      ['a caller token in a log', 'the client secret in a header'],
    );
  });

  it('When a caller token does reach a log and SailPoint, then the harness finds it and its close fails', async () => {
    const h = await startHarness();
    const token = await h.token({ roles: ['CERT_ADMIN'] });
    // The caller puts its own token's signature in the path: the access log and SailPoint see it.
    const signature = token.split('.')[2] as string;
    await request(h.url).post(runReportPath(signature)).set('Authorization', `Bearer ${token}`);
    assert.deepEqual(h.leaks().sort(), ['a caller token in a request to SailPoint', 'a caller token in the logs and audit records']);
    await assert.rejects(h.close(), /no secret reaches a log/);
  });
});

describe('one broad pass of traffic, errors included', () => {
  it('When every route, refusal and fault is exercised, then no secret is anywhere it must not be', async () => {
    const h = await startHarness({
      env: { CORS_ORIGINS: 'https://app.example.com', UPSTREAM_TIMEOUT_MS: '300' },
      tenant: { sources: { s: { kind: 'bulk', blocks: 20, contentLength: false } } },
    });
    try {
      const caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
      const noGrants = `Bearer ${await h.token({})}`;
      const expired = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], exp: Math.floor(Date.now() / 1000) - 3600 })}`;
      const statuses: number[] = [];
      const call = async (r: request.Test) => statuses.push((await r).status);
      await call(request(h.url).post(runReportPath()).set('Authorization', caller));
      await call(request(h.url).post(runReportPath()).set('Authorization', caller).set('Idempotency-Key', 'k1'));
      await call(request(h.url).post(runReportPath()).set('Authorization', caller).set('Idempotency-Key', 'k1'));
      await call(request(h.url).post(runReportPath()).set('Authorization', noGrants));
      await call(request(h.url).post(runReportPath()).set('Authorization', expired));
      await call(request(h.url).post(runReportPath()).set('Authorization', `${caller}x`));
      await call(request(h.url).post(runReportPath()).set('Authorization', caller).set('Cookie', `session=${caller}`));
      h.tenant.addFault('runReport', { kind: 'status', status: 401 }); // the gateway's credential refused once: refreshed
      await call(request(h.url).post(runReportPath()).set('Authorization', caller));
      h.tenant.addFault('runReport', { kind: 'status', status: 500 });
      await call(request(h.url).post(runReportPath()).set('Authorization', caller));
      h.tenant.addFault('runReport', { kind: 'stall-headers' });
      await call(request(h.url).post(runReportPath()).set('Authorization', caller));
      h.tenant.addFault('export', { kind: 'reset-mid-body', afterBytes: 10_000 });
      statuses.push((await download(`${h.url}${exportPath('s')}`, caller)).status);
      statuses.push((await download(`${h.url}${exportPath('s')}`, caller)).status);
      await call(request(h.url).options(runReportPath()).set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'POST'));
      await call(request(h.url).get('/readyz'));
      await call(request(h.url).get('/metrics'));
      await call(request(h.url).get('/v3/identities').set('Authorization', caller));
      assert.deepEqual(statuses, [202, 202, 202, 403, 401, 401, 202, 202, 502, 504, 200, 200, 204, 200, 200, 404]);
      assert.ok(h.tenant.issuedTokens.length >= 2, 'the credential was refreshed: two upstream tokens to look for');
      assert.deepEqual(h.leaks(), []);
    } finally {
      await h.close();
    }
  });
});
