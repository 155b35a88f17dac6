import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { realisticCsv } from '../src/sandbox/csv.ts';
import { API_ANSWER_SET, securityHeadersOf } from './support/security-headers.ts';
import { CAMPAIGN, exportPath, runReportPath, startHarness, type Harness } from './support/harness.ts';

const SOURCE = 'e136567de87e4d029e60b3c3c55db56d';

describe('route policies', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      tenant: { sources: { [SOURCE]: { kind: 'fixed', body: realisticCsv(3), contentLength: true } } },
    });
  });
  after(() => h.close());

  for (const role of ['CERT_ADMIN', 'DASHBOARD', 'ORG_ADMIN', 'REPORT_ADMIN']) {
    it(`When the caller holds ${role}, then a campaign report starts`, async () => {
      const response = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ roles: [role] })}`);
      assert.equal(response.status, 202);
      assert.deepEqual(response.body, {});
    });
  }

  it('When the caller holds a role outside the policy, then 403 in ErrorResponseDto shape and nothing goes upstream', async () => {
    const before = h.tenant.requests.length;
    const response = await request(h.url)
      .post(runReportPath())
      .set('X-Request-Id', 'req-forbidden-1')
      .set('Authorization', `Bearer ${await h.token({ roles: ['HELPDESK'], scope: 'idn:nesr:read' })}`);
    assert.equal(response.status, 403);
    assert.equal(response.body.detailCode, '403 Forbidden');
    assert.equal(response.body.trackingId, 'req-forbidden-1');
    assert.deepEqual(Object.keys(response.body.messages[0]).sort(), ['locale', 'localeOrigin', 'text']);
    assert.equal(response.body.messages[0].localeOrigin, 'DEFAULT');
    assert.equal(h.tenant.requests.length, before);
  });

  it('When the grant arrives as a space-separated scope string, then the export is allowed', async () => {
    const response = await request(h.url)
      .get(exportPath(SOURCE))
      .set('Authorization', `Bearer ${await h.token({ scope: 'openid profile idn:nesr:read' })}`);
    assert.equal(response.status, 200);
    assert.equal(response.text, realisticCsv(3).toString());
  });

  it('When the role arrives in the authorities array, or the scope in scp or permissions, then it counts', async () => {
    const role = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ authorities: ['ORG_ADMIN'] })}`);
    assert.equal(role.status, 202);
    for (const claims of [{ scp: ['idn:nesr:read'] }, { permissions: ['idn:nesr:read'] }]) {
      const response = await request(h.url).get(exportPath(SOURCE)).set('Authorization', `Bearer ${await h.token(claims)}`);
      assert.equal(response.status, 200, JSON.stringify(claims));
    }
  });

  // The attack: a client that may ask its identity provider for any scope asks for one named like a role.
  it('When a role name arrives as a scope (scope: "openid CERT_ADMIN", scp, permissions), then 403: a scope never satisfies a role', async () => {
    const before = h.tenant.requests.length;
    for (const claims of [{ scope: 'openid CERT_ADMIN' }, { scp: 'CERT_ADMIN' }, { permissions: ['ORG_ADMIN'] }]) {
      const response = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token(claims)}`);
      assert.equal(response.status, 403, JSON.stringify(claims));
      assert.match(response.body.messages[0].text, /any of: role:CERT_ADMIN, role:DASHBOARD, role:ORG_ADMIN, role:REPORT_ADMIN/);
    }
    assert.equal(h.tenant.requests.length, before);
  });

  it('When a scope name arrives as a role, then 403: a role never satisfies a scope', async () => {
    const response = await request(h.url).get(exportPath(SOURCE)).set('Authorization', `Bearer ${await h.token({ roles: ['idn:nesr:read'] })}`);
    assert.equal(response.status, 403);
  });

  it('When a campaign role asks for the export, then 403', async () => {
    const response = await request(h.url).get(exportPath(SOURCE)).set('Authorization', `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`);
    assert.equal(response.status, 403);
  });
});

describe('configured policies', () => {
  it('When ACCESS_RUN_REPORT names a custom role from a custom claim, then only it is accepted', async () => {
    const h = await startHarness({ env: { ACCESS_RUN_REPORT: 'role:reports:run', AUTH_ROLE_CLAIMS: 'groups' } });
    try {
      const allowed = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ groups: ['reports:run'] })}`);
      assert.equal(allowed.status, 202);
      const refused = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`);
      assert.equal(refused.status, 403);
    } finally {
      await h.close();
    }
  });

  it('When AUTH_ROLE_CLAIMS is a dotted path, then only the nested claim counts, never a top-level claim of that literal name', async () => {
    const h = await startHarness({ env: { AUTH_ROLE_CLAIMS: 'realm_access.roles' } });
    try {
      const nested = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ realm_access: { roles: ['CERT_ADMIN'] } })}`);
      assert.equal(nested.status, 202);
      const literal = await request(h.url)
        .post(runReportPath())
        .set('Authorization', `Bearer ${await h.token({ 'realm_access.roles': ['CERT_ADMIN'], realm_access: { roles: [] } })}`);
      assert.equal(literal.status, 403, 'a claim literally named "realm_access.roles" is not the path');
    } finally {
      await h.close();
    }
  });

  it('When an access list is configured empty, then its operation is not served (404), and the others are', async () => {
    const h = await startHarness({ env: { ACCESS_EXPORT_NON_EMPLOYEES: '' } });
    try {
      const token = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
      const exported = await request(h.url).get(exportPath(SOURCE)).set('Authorization', token);
      assert.equal(exported.status, 404);
      assert.equal(exported.body.detailCode, '404 Not found');
      assert.equal((await request(h.url).post(runReportPath()).set('Authorization', token)).status, 202);
      assert.equal(h.tenant.requests.filter((r) => r.operation === 'export').length, 0);
    } finally {
      await h.close();
    }
  });
});

describe('path validation and routing', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    h = await startHarness({
      env: { CORS_ORIGINS: 'https://app.example.com' },
      tenant: { sources: { [SOURCE]: { kind: 'fixed', body: realisticCsv(3), contentLength: true } } },
    });
    admin = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
  });
  after(() => h.close());

  it('When the report type is not one of the four, then 400 and nothing goes upstream', async () => {
    for (const type of ['UNKNOWN_REPORT', 'campaign_status_report', 'CAMPAIGN_STATUS_REPORT%00']) {
      const response = await request(h.url).post(runReportPath(CAMPAIGN, type)).set('Authorization', admin);
      assert.equal(response.status, 400, type);
      assert.equal(response.body.detailCode, '400.1 Bad Request Content');
    }
    assert.equal(h.tenant.requests.length, 0);
  });

  const hostile = ['..%2F', '..%2F..%2Fadmin', '%2e%2e', '..', '%00', 'abc%00def', 'a%20b', '%252F', 'a.b', '%E0%A4%A', 'x'.repeat(129), '%F0%9F%98%80'];
  for (const id of hostile) {
    it(`When the id is hostile (${id.length > 20 ? `${id.length} chars` : id}), then 400 and it never reaches the upstream`, async () => {
      const campaign = await request(h.url).post(runReportPath(id)).set('Authorization', admin);
      assert.equal(campaign.status, 400);
      const source = await request(h.url).get(exportPath(id)).set('Authorization', admin);
      assert.equal(source.status, 400);
      assert.equal(h.tenant.requests.length, 0);
    });
  }

  it('When a path segment does not percent-decode, then 400 before anything else is asked of the caller', async () => {
    const bad = '/v3/campaigns/%E0%A4%A/run-report/CAMPAIGN_STATUS_REPORT';
    for (const authorization of [undefined, admin]) {
      const response = await request(h.url).post(bad).set(authorization ? { Authorization: authorization } : {});
      assert.equal(response.status, 400);
      assert.equal(response.body.messages[0].text, 'The request is malformed.');
    }
    assert.equal(h.tenant.requests.length, 0);
  });

  it('When the id is empty, then 400', async () => {
    const response = await request(h.url).post('/v3/campaigns//run-report/CAMPAIGN_STATUS_REPORT').set('Authorization', admin);
    assert.equal(response.status, 400);
    assert.equal(h.tenant.requests.length, 0);
  });

  it('When the id is 128 safe characters, then it goes upstream (and the unknown campaign 404 is relayed)', async () => {
    const id = `${'a'.repeat(64)}-${'B'.repeat(61)}_9`;
    assert.equal(id.length, 128);
    const response = await request(h.url).post(runReportPath(id)).set('Authorization', admin);
    assert.equal(response.status, 404);
    assert.equal(response.body.detailCode, '404 Not found');
    assert.equal(h.tenant.requests.at(-1)?.path, runReportPath(id));
  });

  it('When any other path or method is asked, then 404 (not an open proxy)', async () => {
    const before = h.tenant.requests.length;
    for (const [method, path] of [
      ['get', runReportPath()],
      ['post', exportPath(SOURCE)],
      ['get', '/v3/campaigns'],
      ['get', '/v3/non-employee-sources/x/non-employees'],
      ['get', '/oauth/token'],
      ['get', '/V3/CAMPAIGNS/x/run-report/CAMPAIGN_STATUS_REPORT'],
      ['post', `${runReportPath()}/`],
      ['get', '/'],
      ['head', exportPath(SOURCE)],
    ] as const) {
      const response = await request(h.url)[method](path).set('Authorization', admin);
      assert.equal(response.status, 404, `${method} ${path}`);
      if (method !== 'head') assert.equal(response.body.detailCode, '404 Not found');
    }
    assert.equal(h.tenant.requests.length, before);
  });

  it('An error answer is UTF-8 JSON of exactly its Content-Length, never cached; a HEAD gets the headers alone', async () => {
    for (const [method, path, status] of [
      ['GET', '/v3/nothing', 404],
      ['POST', runReportPath(), 401],
      ['POST', runReportPath('bad id!'), 400],
    ] as const) {
      const answer = await fetch(`${h.url}${path}`, { method, headers: status === 401 ? {} : { authorization: admin } });
      const bytes = Buffer.from(await answer.arrayBuffer());
      assert.equal(answer.status, status, `${method} ${path}`);
      assert.equal(answer.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.equal(answer.headers.get('content-length'), String(bytes.length));
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      assert.ok(JSON.parse(bytes.toString('utf8')));
    }
    const head = await fetch(`${h.url}/v3/nothing`, { method: 'HEAD' });
    assert.equal(head.status, 404);
    assert.equal(Buffer.from(await head.arrayBuffer()).length, 0);
    assert.equal(head.headers.get('content-type'), 'application/json; charset=utf-8');
  });

  it('When the SDK sends the POST with a form Content-Type and no body, then it works', async () => {
    const response = await request(h.url)
      .post(runReportPath())
      .set('Authorization', admin)
      .set('Content-Type', 'application/x-www-form-urlencoded');
    assert.equal(response.status, 202);
    const withBody = await request(h.url).post(runReportPath()).set('Authorization', admin).set('Content-Type', 'application/json').send('{"ignored":true}');
    assert.equal(withBody.status, 202);
  });

  it('When the SDK asks for the CSV with Accept: application/json, text/plain, */*, then it gets text/csv', async () => {
    const response = await request(h.url).get(exportPath(SOURCE)).set('Authorization', admin).set('Accept', 'application/json, text/plain, */*');
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/csv/);
  });

  it('When the caller sends a sane X-Request-Id, then it is echoed and forwarded upstream; an insane one is replaced', async () => {
    const sane = await request(h.url).post(runReportPath()).set('Authorization', admin).set('X-Request-Id', 'front-end.req:42');
    assert.equal(sane.headers['x-request-id'], 'front-end.req:42');
    assert.equal(h.tenant.requests.at(-1)?.headers['x-request-id'], 'front-end.req:42');
    const insane = await request(h.url).post(runReportPath()).set('Authorization', admin).set('X-Request-Id', 'a b<script>');
    assert.match(String(insane.headers['x-request-id']), /^[0-9a-f]{32}$/);
    assert.equal(h.tenant.requests.at(-1)?.headers['x-request-id'], insane.headers['x-request-id']);
  });

  it("The caller's token and cookies never go upstream; the gateway's own credential does", async () => {
    await request(h.url).post(runReportPath()).set('Authorization', admin).set('Cookie', 'session=abc');
    const upstream = h.tenant.requests.at(-1);
    assert.ok(upstream);
    assert.notEqual(upstream.headers.authorization, admin);
    assert.equal(upstream.headers.authorization, `Bearer ${h.tenant.issuedTokens.at(-1)}`);
    assert.equal(upstream.headers.cookie, undefined);
  });

  it('API answers carry the REST set of security headers (CSP, framing, nosniff, HSTS, CORP) and none of those for documents, and no X-Powered-By', async () => {
    const answers = [
      await request(h.url).get('/healthz'),
      await request(h.url).post(runReportPath()).set('Authorization', admin),
      await request(h.url).get(exportPath(SOURCE)).set('Authorization', admin),
      await request(h.url).post(runReportPath()),
      await request(h.url).get('/v3/identities'),
    ];
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 202, 200, 401, 404],
    );
    for (const answer of answers) {
      assert.deepEqual(securityHeadersOf((name) => answer.headers[name]), API_ANSWER_SET, `the ${answer.status}`);
      assert.equal(answer.headers['x-powered-by'], undefined);
      assert.ok(answer.headers['x-request-id']);
    }
  });

  it('CORS answers only the configured origins: a preflight for them, 404 for any other OPTIONS', async () => {
    const allowed = await request(h.url).options(runReportPath()).set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'POST');
    assert.equal(allowed.status, 204);
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://app.example.com');
    const other = await request(h.url).options(runReportPath()).set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'POST');
    assert.equal(other.status, 404);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    assert.equal(other.headers.allow, undefined);
    const unknownPath = await request(h.url).options('/v3/identities').set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'GET');
    assert.equal(unknownPath.status, 404);
  });
});

describe('OPTIONS without CORS', () => {
  it('When CORS_ORIGINS is unset, then OPTIONS on a route is 404 in the contract shape, with no Allow header', async () => {
    const h = await startHarness();
    try {
      for (const path of [runReportPath(), exportPath(SOURCE), '/healthz']) {
        const response = await request(h.url).options(path).set('Origin', 'https://app.example.com').set('Access-Control-Request-Method', 'POST');
        assert.equal(response.status, 404, path);
        assert.equal(response.body.detailCode, '404 Not found');
        assert.equal(response.headers.allow, undefined);
      }
      assert.equal(h.tenant.requests.length, 0);
    } finally {
      await h.close();
    }
  });
});

describe('the admin listener (ADMIN_PORT)', () => {
  it('When ADMIN_PORT is set, then /metrics is served only there, and /healthz and /readyz on both', async () => {
    const h = await startHarness({ env: { ADMIN_PORT: '0' } });
    try {
      assert.ok(h.adminUrl);
      assert.equal((await request(h.url).get('/metrics')).status, 404);
      const metrics = await request(h.adminUrl).get('/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, /^gateway_requests_total/m);
      for (const url of [h.url, h.adminUrl]) {
        assert.equal((await request(url).get('/healthz')).status, 200);
        assert.equal((await request(url).get('/readyz')).status, 200);
      }
      assert.equal((await request(h.adminUrl).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`)).status, 404, 'no API on the admin port');
    } finally {
      await h.close();
    }
  });
});
