import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { startForwardProxy, type ForwardProxy } from './support/forward-proxy.ts';
import { runReportPath, startHarness, type Harness } from './support/harness.ts';

// The token endpoint is named by another host (localhost) than the API (127.0.0.1), so the proxy's
// record tells the two apart even though one tenant serves both.
const hostOf = (url: string) => new URL(url).host;

/** A forward proxy, and a cold gateway (it fetches keys and its credential on the first call) behind it. */
function behindProxy(env: Record<string, string>) {
  const rig = { proxy: undefined as unknown as ForwardProxy, h: undefined as unknown as Harness };
  before(async () => {
    rig.proxy = await startForwardProxy();
    rig.h = await startHarness({
      cold: true,
      env: { HTTPS_PROXY: rig.proxy.url, ...env },
      envFor: (tenant) => ({ UPSTREAM_TOKEN_URL: `http://localhost:${new URL(tenant.origin).port}/oauth/token` }),
    });
  });
  after(async () => {
    await rig.h.close();
    await rig.proxy.close();
  });
  return rig;
}

describe('egress through a corporate proxy (HTTPS_PROXY)', () => {
  const rig = behindProxy({});

  it('When HTTPS_PROXY is set, then the JWKS, the token endpoint and the SailPoint API are all reached through it', async () => {
    const { proxy, h } = rig;
    const response = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`);
    assert.equal(response.status, 202);
    const targets = new Set(proxy.carried.map((c) => c.target));
    const tenantPort = new URL(h.tenant.origin).port;
    assert.ok(targets.has(hostOf(h.issuer.jwksUrl)), `JWKS through the proxy: ${[...targets].join(', ')}`);
    assert.ok(targets.has(`localhost:${tenantPort}`), `token endpoint through the proxy: ${[...targets].join(', ')}`);
    assert.ok(targets.has(hostOf(h.tenant.origin)), `SailPoint API through the proxy: ${[...targets].join(', ')}`);
    // Nothing went around it: every request the tenant saw arrived over a tunnel the proxy opened.
    assert.equal(proxy.carried.filter((c) => c.target === hostOf(h.tenant.origin)).length >= 1, true);
  });
});

describe('egress with NO_PROXY', () => {
  const rig = behindProxy({ NO_PROXY: 'localhost' });

  it('When NO_PROXY matches a host, then calls to it go direct while the others still use the proxy', async () => {
    const { proxy, h } = rig;
    const response = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ roles: ['CERT_ADMIN'] })}`);
    assert.equal(response.status, 202);
    assert.ok(h.tenant.tokenRequests >= 1, 'the token was fetched');
    const targets = proxy.carried.map((c) => c.target);
    assert.equal(targets.filter((t) => t.startsWith('localhost:')).length, 0, `the NO_PROXY host went direct: ${targets.join(', ')}`);
    assert.ok(targets.includes(hostOf(h.tenant.origin)), 'the API still went through the proxy');
    assert.ok(targets.includes(hostOf(h.issuer.jwksUrl)), 'the JWKS still went through the proxy');
  });
});
