// Browser sessions (RFC 10017): the gateway runs the OpenID Connect login against a real provider
// (the sandbox's, with its persona picker), keeps the tokens, and gives the browser one cookie.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { createSigningKey, startDevIssuer } from '../src/sandbox/issuer.ts';
import { startTenant } from '../src/sandbox/tenant.ts';
import { createOidcLogin } from '../src/sessions/login.ts';
import { startOidcProvider, type OidcSandbox } from '../src/sandbox/oidc-provider.ts';
import { cookieBrowser, type CookieBrowser } from './support/cookie-browser.ts';
import { freePort } from './support/free-port.ts';
import { startRedis } from './support/redis.ts';
import { campaignReportsPath, CLIENT_ID, CLIENT_SECRET, eventually, exportPath, runReportPath, startHarness, targetEnv, type Harness } from './support/harness.ts';
import { API_ANSWER_SET, DOCUMENT_ONLY_SET, securityHeadersOf } from './support/security-headers.ts';
import { gatewayClient, loginAs, pastRenewal, PERSONAS, sessionEnv, startSessionRig } from './support/session-rig.ts';


describe('browser sessions: login through the provider', () => {
  let idp: OidcSandbox;
  let h: Harness;
  before(async () => {
    ({ idp, h } = await startSessionRig());
  });
  after(async () => {
    await h.close();
    await idp.close();
  });

  /** Logs in as a persona through the provider's page; returns the browser and the callback URL it used. */
  async function login(persona: string, returnTo = '/app/'): Promise<{ browser: CookieBrowser; callback: string; landed: string | undefined }> {
    const browser = cookieBrowser();
    const hops = await loginAs(browser, `${h.url}/bff/login?returnTo=${encodeURIComponent(returnTo)}`, idp, persona, `${h.url}${returnTo}`);
    const callback = hops.find((hop) => hop.url.startsWith(`${h.url}/bff/callback`));
    assert.ok(callback, 'the provider sent the browser back to the callback');
    return { browser, callback: callback.url, landed: hops.at(-1)?.location };
  }

  it('When a persona logs in, then the browser holds only an HttpOnly __Host- cookie, lands on returnTo, and /bff/user says who it is', async () => {
    const { browser, landed } = await login('cert-admin');
    assert.equal(landed, `${h.url}/app/`);
    const cookies = await browser.jar.getCookies(h.url);
    const session = cookies.find((c) => c.key === '__Host-bff-session');
    assert.ok(session);
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.path, '/');
    assert.ok(['lax', 'strict'].includes(String(session.sameSite)));
    assert.match(session.value, /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/, 'an opaque signed id, no token');
    const user = await browser.request(`${h.url}/bff/user`, { headers: { 'x-csrf': '1' } });
    assert.equal(user.status, 200);
    const body = JSON.parse(user.body) as { sub: string; name: string; roles: string[]; scopes: string[]; expiresAt: string };
    assert.equal(body.sub, 'cert-admin');
    assert.equal(body.name, 'Certification admin');
    assert.deepEqual(body.roles, ['CERT_ADMIN']);
    assert.ok(!Number.isNaN(Date.parse(body.expiresAt)));
    assert.ok(!user.body.includes('eyJ'), 'no token reaches the browser');
  });

  it('OIDC_PROMPT is sent as the login’s prompt, and no prompt at all when it is unset', async () => {
    const settings = { issuer: new URL(idp.issuer), clientId: 'gateway', clientSecret: 'unused', scopes: 'openid offline_access', publicOrigin: new URL(h.url), secrets: [], idleTimeoutS: 60, maxAgeS: 60 };
    const withPrompt = await createOidcLogin({ ...settings, prompt: 'consent' }, fetch).start('/');
    const without = await createOidcLogin({ ...settings, prompt: undefined }, fetch).start('/');
    assert.equal(withPrompt.url.searchParams.get('prompt'), 'consent');
    assert.equal(without.url.searchParams.has('prompt'), false);
    assert.equal(without.url.searchParams.get('code_challenge_method'), 'S256');
  });

  it('Scopes come from the scope claims under the same rules as bearer tokens', async () => {
    const { browser } = await login('nesr-reader');
    const body = JSON.parse((await browser.request(`${h.url}/bff/user`, { headers: { 'x-csrf': '1' } })).body) as { roles: string[]; scopes: string[] };
    assert.deepEqual(body.roles, []);
    assert.ok(body.scopes.includes('idn:nesr:read'), JSON.stringify(body.scopes));
  });

  it('When X-CSRF is missing, or the cookie is forged or absent, then /bff/user is 401', async () => {
    const { browser } = await login('cert-admin');
    assert.equal((await browser.request(`${h.url}/bff/user`)).status, 401, 'no X-CSRF');
    const [real] = (await browser.jar.getCookies(h.url)).filter((c) => c.key === '__Host-bff-session');
    const forged = `${(real?.value ?? '').split('.')[0]}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;
    const bad = await fetch(`${h.url}/bff/user`, { headers: { 'x-csrf': '1', cookie: `__Host-bff-session=${forged}` } });
    assert.equal(bad.status, 401);
    assert.match(((await bad.json()) as { error: string }).error, /No valid session/);
    assert.equal((await fetch(`${h.url}/bff/user`, { headers: { 'x-csrf': '1' } })).status, 401);
  });

  it('When the callback is replayed, or its state does not match this browser, then 400 and no session', async () => {
    const { browser, callback } = await login('cert-admin');
    const replay = await browser.request(callback);
    assert.equal(replay.status, 400);
    const other = cookieBrowser();
    assert.equal((await other.request(callback)).status, 400, 'another browser, no login cookie');
    assert.equal((await other.jar.getCookies(h.url)).filter((c) => c.key === '__Host-bff-session').length, 0);
    assert.equal((await browser.request(`${h.url}/bff/callback?code=x&state=made-up`)).status, 400);
  });

  it('When returnTo is not a same-origin path, then /bff/login is 400 (no open redirect)', async () => {
    for (const returnTo of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'app']) {
      const response = await fetch(`${h.url}/bff/login?returnTo=${encodeURIComponent(returnTo)}`, { redirect: 'manual' });
      assert.equal(response.status, 400, returnTo);
    }
  });

  it('The login, the callback and the other /bff/ routes carry helmet’s full set (no-referrer keeps the callback’s code out of the next page’s Referer); a /v3 answer the REST set only', async () => {
    const browser = cookieBrowser();
    const start = await browser.request(`${h.url}/bff/login?returnTo=%2Fapp%2F`);
    const hops = await loginAs(browser, `${h.url}/bff/login?returnTo=%2Fapp%2F`, idp, 'cert-admin', `${h.url}/app/`);
    const callback = hops.find((hop) => hop.url.startsWith(`${h.url}/bff/callback`));
    const user = await browser.request(`${h.url}/bff/user`, { headers: { 'x-csrf': '1' } });
    const refused = await browser.request(`${h.url}/bff/login?returnTo=%2F%2Fevil.example`);
    const operation = await browser.request(`${h.url}${runReportPath()}`, { method: 'POST', headers: { 'x-csrf': '1' } });
    assert.deepEqual([start.status, callback?.status, user.status, refused.status, operation.status], [302, 302, 200, 400, 202]);
    for (const hop of [start, callback, user, refused]) {
      assert.deepEqual(securityHeadersOf((name) => hop?.headers.get(name)), { ...API_ANSWER_SET, ...DOCUMENT_ONLY_SET }, hop?.url);
    }
    assert.deepEqual(securityHeadersOf((name) => operation.headers.get(name)), API_ANSWER_SET);
  });

  it('A path under /bff that no session route serves goes on to Express: a 404 with the full set, as every /bff path gets; one beside it, the REST set', async () => {
    for (const path of ['/bff', '/bff/', '/bff/nothing', '/bffx']) {
      const answer = await fetch(`${h.url}${path}`);
      assert.equal(answer.status, 404, path);
      assert.equal(((await answer.json()) as { detailCode: string }).detailCode, '404 Not found');
      const expected = path === '/bffx' ? API_ANSWER_SET : { ...API_ANSWER_SET, ...DOCUMENT_ONLY_SET };
      assert.deepEqual(securityHeadersOf((name) => answer.headers.get(name)), expected, path);
    }
  });

  it('With the session cookie and X-CSRF, the /v3 routes serve the same Caller a bearer token would, and the audit record says session', async () => {
    const { browser } = await login('cert-admin');
    const started = await browser.request(`${h.url}${runReportPath()}`, { method: 'POST', headers: { 'x-csrf': '1', 'x-request-id': 'session-start-1' } });
    assert.equal(started.status, 202);
    await eventually(() => h.logs().some((l) => l.kind === 'audit' && l.requestId === 'session-start-1'), 'the audit record');
    const record = h.logs().find((l) => l.kind === 'audit' && l.requestId === 'session-start-1') as Record<string, unknown>;
    assert.equal(record.via, 'session');
    assert.equal(record.subject, 'cert-admin');
    assert.equal(record.grant, 'role:CERT_ADMIN');
    assert.equal((await browser.request(`${h.url}${runReportPath()}`, { method: 'POST' })).status, 401, 'no X-CSRF: refused');
    const upstreamAuth = h.tenant.requests.at(-1)?.headers.authorization ?? '';
    assert.equal(upstreamAuth, `Bearer ${h.tenant.issuedTokens.at(-1)}`, "SailPoint sees the gateway's credential only");
  });

  it('A file download by top-level navigation needs no X-CSRF (same-origin or typed), but a cross-site one does', async () => {
    const { browser } = await login('nesr-reader');
    const path = exportPath('e136567de87e4d029e60b3c3c55db56d');
    assert.equal((await browser.request(`${h.url}${path}`, { headers: { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate' } })).status, 404, 'admitted (the tenant has no such source here: its 404 relayed)');
    assert.equal((await browser.request(`${h.url}${path}`, { headers: { 'sec-fetch-site': 'none' } })).status, 404);
    assert.equal((await browser.request(`${h.url}${path}`, { headers: { 'sec-fetch-site': 'cross-site' } })).status, 401);
    assert.equal((await browser.request(`${h.url}${campaignReportsPath()}`, { headers: { 'sec-fetch-site': 'same-origin' } })).status, 401, 'the exception is for files only');
  });

  it('POST /bff/logout ends the session at once, clears the cookie, and gives the end-session URL; the old cookie is then refused', async () => {
    const { browser } = await login('cert-admin');
    const [cookie] = (await browser.jar.getCookies(h.url)).filter((c) => c.key === '__Host-bff-session');
    assert.equal((await browser.request(`${h.url}/bff/logout`, { method: 'POST' })).status, 401, 'no X-CSRF: no logout by another site');
    const out = await browser.request(`${h.url}/bff/logout`, { method: 'POST', headers: { 'x-csrf': '1' } });
    assert.equal(out.status, 200);
    const { endSessionUrl } = JSON.parse(out.body) as { endSessionUrl: string | null };
    assert.ok(endSessionUrl?.startsWith(`${idp.issuer}/session/end`), String(endSessionUrl));
    assert.match(out.headers.get('set-cookie') ?? '', /__Host-bff-session=; .*Max-Age=0/);
    // A copy of the cookie kept from before (stolen, or another tab) no longer works.
    const stolen = await fetch(`${h.url}/bff/user`, { headers: { 'x-csrf': '1', cookie: `__Host-bff-session=${cookie?.value}` } });
    assert.equal(stolen.status, 401);
    const start = await fetch(`${h.url}${runReportPath()}`, { method: 'POST', headers: { 'x-csrf': '1', cookie: `__Host-bff-session=${cookie?.value}` } });
    assert.equal(start.status, 401);
  });

  it('Readiness reports the provider; metrics count logins and logouts and show the sessions held', async () => {
    const ready = (await (await fetch(`${h.url}/readyz`)).json()) as { checks: Array<{ name: string; state: string }> };
    assert.equal(ready.checks.find((c) => c.name === 'sessionProvider')?.state, 'ok');
    assert.equal(ready.checks.find((c) => c.name === 'sessionStore')?.state, 'ok');
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    assert.ok(Number(/^gateway_session_events_total\{event="login"\} (\d+)$/m.exec(metrics)?.[1]) >= 5, 'the logins of the tests above');
    assert.ok(Number(/^gateway_session_events_total\{event="logout"\} (\d+)$/m.exec(metrics)?.[1]) >= 1);
    assert.match(metrics, /^gateway_sessions_active \d+$/m);
  });
});

/** A logged-in browser on a rig whose access tokens live 2 s; `user()` asks /bff/user (200 on return). */
async function shortLivedSession() {
  const { idp, h } = await startSessionRig({ accessTokenTtlS: 2 });
  const browser = cookieBrowser();
  await loginAs(browser, `${h.url}/bff/login`, idp, 'cert-admin', `${h.url}/`);
  const user = () => browser.request(`${h.url}/bff/user`, { headers: { 'x-csrf': '1' } });
  assert.equal((await user()).status, 200);
  return { idp, h, user };
}

describe('browser sessions: renewing the access token', () => {
  it('When the access token nears its expiry, then the next request renews it once with the refresh token, however many arrive; with the provider gone, 503 and no logout', async () => {
    const { idp, h, user } = await shortLivedSession();
    try {
      assert.equal(idp.refreshes, 0, 'fresh: nothing to renew');
      await pastRenewal();
      const answers = await Promise.all(Array.from({ length: 5 }, user));
      assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
      assert.equal(idp.refreshes, 1, 'one refresh for five requests at once');
      await idp.close();
      await pastRenewal();
      const down = await user();
      assert.equal(down.status, 503, 'the provider unreachable is a 503, not a logout');
      assert.ok(Number(down.headers.get('retry-after')) >= 1);
      assert.equal((await user()).status, 503, 'and the session is still there');
    } finally {
      await h.close();
      await idp.close().catch(() => undefined);
    }
  });
});

describe('browser sessions across replicas (Redis)', () => {
  it('When a login starts on one replica and returns to the other, it completes; the session is served by both, and a logout on either ends it on both', async () => {
    const redis = await startRedis();
    const [portA, portB] = [await freePort(), await freePort()];
    const origin = `http://127.0.0.1:${portA}`;
    const idp = await startOidcProvider({ personas: PERSONAS, clients: [gatewayClient(origin)] });
    const env = { ...sessionEnv(idp, origin), REDIS_URL: redis.url };
    const a = await startHarness({ port: portA, env });
    const b = await startHarness({ port: portB, env });
    try {
      const browser = cookieBrowser();
      // Started on one replica, called back on the other (PUBLIC_ORIGIN is the first's).
      await loginAs(browser, `${b.url}/bff/login`, idp, 'cert-admin', `${a.url}/`);
      const onB = await browser.request(`${b.url}/bff/user`, { headers: { 'x-csrf': '1' } });
      assert.equal(onB.status, 200, 'the other replica serves the session');
      assert.equal((JSON.parse(onB.body) as { sub: string }).sub, 'cert-admin');
      const [cookie] = (await browser.jar.getCookies(a.url)).filter((c) => c.key === '__Host-bff-session');
      assert.equal((await browser.request(`${b.url}/bff/logout`, { method: 'POST', headers: { 'x-csrf': '1' } })).status, 200);
      const onA = await fetch(`${a.url}/bff/user`, { headers: { 'x-csrf': '1', cookie: `__Host-bff-session=${cookie?.value}` } });
      assert.equal(onA.status, 401, 'ended on the replica that created it too');

      // Redis gone: the session store cannot answer. Cookie callers get 503 (not a logout), and
      // readiness says so.
      await loginAs(browser, `${a.url}/bff/login`, idp, 'cert-admin', `${a.url}/`);
      const storeOf = async () => ((await (await fetch(`${a.url}/readyz`)).json()) as { checks: Array<{ name: string; state: string; detail: string }> }).checks.find((c) => c.name === 'sessionStore');
      assert.equal((await storeOf())?.state, 'ok');
      await redis.stop();
      for (let i = 0; i < 50 && (await storeOf())?.state !== 'degraded'; i += 1) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await storeOf())?.state, 'degraded', 'readiness says the session store is degraded');
      assert.match((await storeOf())?.detail ?? '', /503/);
      const down = await browser.request(`${a.url}/bff/user`, { headers: { 'x-csrf': '1' } });
      assert.equal(down.status, 503);
      assert.ok(Number(down.headers.get('retry-after')) >= 1);
    } finally {
      await a.close();
      await b.close();
      await idp.close();
      await redis.stop();
    }
  });
});

describe('browser sessions: back-channel logout', () => {
  it('When the provider ends the user session, its logout_token ends the gateway session; a forged or malformed token is 400', async () => {
    const { idp, h } = await startSessionRig({
      client: (origin) => ({ backchannel_logout_uri: `${origin}/bff/backchannel-logout`, backchannel_logout_session_required: true, post_logout_redirect_uris: [`${origin}/`] }),
    });
    try {
      const browser = cookieBrowser();
      await loginAs(browser, `${h.url}/bff/login`, idp, 'cert-admin', `${h.url}/`);
      const user = () => browser.request(`${h.url}/bff/user`, { headers: { 'x-csrf': '1' } });
      assert.equal((await user()).status, 200);

      // Forged: the right claims, signed by a key the provider does not publish.
      const other = await createSigningKey();
      const forged = await new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sub: 'cert-admin', jti: 'x' })
        .setProtectedHeader({ alg: 'ES256', kid: other.kid, typ: 'logout+jwt' }).setIssuer(idp.issuer).setAudience('gateway').setIssuedAt().sign(other.privateKey);
      const post = (body: string) => fetch(`${h.url}/bff/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      assert.equal((await post(`logout_token=${forged}`)).status, 400);
      assert.equal((await post('logout_token=not.a.jwt')).status, 400);
      assert.equal((await post('')).status, 400);
      assert.equal((await user()).status, 200, 'none of them ended the session');

      // The user logs out at the provider: it calls the gateway back with a real logout_token.
      const confirm = (await browser.follow(`${idp.issuer}/session/end`)).at(-1);
      const form = /<form[^>]*action="([^"]+)"[\s\S]*?<\/form>/.exec(confirm?.body ?? '');
      assert.ok(form, confirm?.body.slice(0, 500));
      const fields = [...(form[0] ?? '').matchAll(/<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)].map((m) => `${m[1]}=${encodeURIComponent(m[2] as string)}`);
      await browser.follow(new URL(form[1] as string, idp.issuer).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: [...fields, 'logout=yes'].join('&') });
      await eventually(() => h.logs().some((l) => l.msg === 'back-channel logout'), 'the provider called the gateway back');
      assert.equal(h.logs().find((l) => l.msg === 'back-channel logout')?.ended, 1);
      assert.equal((await user()).status, 401, 'the gateway session has ended');
    } finally {
      await h.close();
      await idp.close();
    }
  });
});

describe('browser sessions: a refresh the provider refuses', () => {
  it('When the provider refuses to renew (access withdrawn), then the session ends: 401, and the cookie stays refused', async () => {
    const { idp, h, user } = await shortLivedSession();
    try {
      await idp.revokeGrants();
      await pastRenewal();
      const refused = await user();
      assert.equal(refused.status, 401);
      assert.match((JSON.parse(refused.body) as { error: string }).error, /refused to renew/);
      assert.equal((await user()).status, 401, 'the session is gone, not retried');
      const metrics = await (await fetch(`${h.url}/metrics`)).text();
      assert.match(metrics, /^gateway_session_events_total\{event="refresh_refused"\} 1$/m);
    } finally {
      await h.close();
      await idp.close();
    }
  });
});

describe('browser sessions and CORS', () => {
  it('With session mode and CORS_ORIGINS, a preflight from a listed origin allows credentials and X-CSRF; any other origin gets 404', async () => {
    const { idp, h } = await startSessionRig({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const preflight = (origin: string) =>
        fetch(`${h.url}${runReportPath()}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-csrf' } });
      const allowed = await preflight('https://app.example.com');
      assert.equal(allowed.status, 204);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
      assert.equal(allowed.headers.get('access-control-allow-credentials'), 'true');
      assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /X-CSRF/i);
      const other = await preflight('https://evil.example');
      assert.equal(other.status, 404);
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    } finally {
      await h.close();
      await idp.close();
    }
  });
});

describe('browser sessions: the provider checked at start', () => {
  /** Starts the gateway process in session mode against `issuer`; resolves when it exits (or is stopped once listening). */
  async function startAgainst(issuer: string): Promise<{ status: number | null; stderr: string; stdout: string }> {
    const tenant = await startTenant({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, rateLimit: null });
    const issuerOfCallers = await startDevIssuer();
    try {
      const child = spawn(process.execPath, ['src/main.ts'], {
        env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...targetEnv(tenant, issuerOfCallers), OIDC_ISSUER: issuer, OIDC_CLIENT_ID: 'gateway', OIDC_CLIENT_SECRET: 'x', PUBLIC_ORIGIN: 'http://127.0.0.1:1', SESSION_SECRETS: 'a'.repeat(32) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGTERM'), 15_000);
      const [status] = (await once(child, 'exit')) as [number | null];
      clearTimeout(timer);
      return { status, stderr, stdout };
    } finally {
      await tenant.close();
      await issuerOfCallers.close();
    }
  }

  it('When the provider cannot be reached, or its discovery answer is not a provider’s, then one line names OIDC_ISSUER and the process exits 1', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const notAProvider = createServer((req, res) => void res.writeHead(req.url?.endsWith('/.well-known/openid-configuration') ? 404 : 500).end());
    const wrongIssuer = createServer((_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: 'https://someone-else.example.com', authorization_endpoint: 'https://x/a', token_endpoint: 'https://x/t', jwks_uri: 'https://x/j' })));
    for (const server of [notAProvider, wrongIssuer]) server.listen(0, '127.0.0.1');
    await Promise.all([once(notAProvider, 'listening'), once(wrongIssuer, 'listening')]);
    const origin = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const runs = await Promise.all([startAgainst(closed), startAgainst(origin(notAProvider)), startAgainst(origin(wrongIssuer))]);
      for (const [i, run] of runs.entries()) {
        assert.equal(run.status, 1, `run ${i}: ${run.stderr}`);
        const lines = run.stderr.trim().split('\n');
        assert.equal(lines.length, 1, run.stderr);
        assert.match(lines[0] as string, /^gateway: invalid configuration: OIDC_ISSUER: /);
        assert.doesNotMatch(run.stderr, /\n\s+at /);
      }
      assert.match(runs[0]?.stderr ?? '', /discovery at http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration failed: .*ECONNREFUSED/);
      assert.match(runs[1]?.stderr ?? '', /failed: .*404/);
      assert.match(runs[2]?.stderr ?? '', /failed: .*issuer/i);
    } finally {
      notAProvider.close();
      wrongIssuer.close();
    }
  });
});
