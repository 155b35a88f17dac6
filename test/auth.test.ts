import assert from 'node:assert/strict';
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { base64url, SignJWT } from 'jose';
import request from 'supertest';
import { createSigningKey } from '../src/sandbox/issuer.ts';
import { eventually, runReportPath, startHarness, type Harness } from './support/harness.ts';

const ADMIN = { roles: ['CERT_ADMIN'] };

function assertUnauthorized(response: request.Response, reason: RegExp): void {
  assert.equal(response.status, 401);
  assert.match(String(response.body.error), reason);
  assert.match(String(response.headers['www-authenticate']), /^Bearer .*error="invalid_token"/);
  assert.ok(response.headers['x-request-id']);
}

describe('caller authentication', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { AUTH_JWKS_COOLDOWN_MS: '600000' } });
  });
  after(() => h.close());

  const call = (authorization?: string) => {
    const r = request(h.url).post(runReportPath());
    return authorization === undefined ? r : r.set('Authorization', authorization);
  };

  it('accepts a valid token', async () => {
    const response = await call(`Bearer ${await h.token(ADMIN)}`);
    assert.equal(response.status, 202);
  });

  it('When the token is missing, then 401 with WWW-Authenticate', async () => {
    assertUnauthorized(await call(), /Missing bearer token/);
  });

  it('When the token is malformed, then 401', async () => {
    assertUnauthorized(await call('Bearer not-a-jwt'), /Malformed/);
    assertUnauthorized(await call('Bearer a.b.c'), /malformed token/);
  });

  it('When the scheme is not Bearer, then 401', async () => {
    assertUnauthorized(await call(`Basic ${Buffer.from('u:p').toString('base64')}`), /scheme must be Bearer/);
  });

  it('When the token says alg "none", then 401', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const now = Math.floor(Date.now() / 1000);
    const payload = base64url.encode(JSON.stringify({ sub: 'mallory', iss: h.issuer.issuer, aud: h.issuer.audience, exp: now + 300, ...ADMIN }));
    assertUnauthorized(await call(`Bearer ${header}.${payload}.`), /algorithm not allowed/);
  });

  it('When the token is HMAC-signed with the public key as secret, then 401', async () => {
    const publicPem = createPublicKey({ key: h.issuer.current.publicJwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ sub: 'mallory', iss: h.issuer.issuer, aud: h.issuer.audience, exp: now + 300, ...ADMIN })
      .setProtectedHeader({ alg: 'HS256', kid: h.issuer.current.kid })
      .sign(Buffer.from(publicPem));
    assertUnauthorized(await call(`Bearer ${forged}`), /algorithm not allowed/);
  });

  it('When the token expired beyond the clock tolerance, then 401 "expired"', async () => {
    const now = Math.floor(Date.now() / 1000);
    assertUnauthorized(await call(`Bearer ${await h.token({ ...ADMIN, exp: now - 120, iat: now - 600 })}`), /expired/);
  });

  it('When the token expired within the clock tolerance, then it is still accepted', async () => {
    const now = Math.floor(Date.now() / 1000);
    const response = await call(`Bearer ${await h.token({ ...ADMIN, exp: now - 5, iat: now - 600 })}`);
    assert.equal(response.status, 202);
  });

  it('When the token has no exp, then 401', async () => {
    assertUnauthorized(await call(`Bearer ${await h.token({ ...ADMIN, exp: undefined })}`), /"exp" claim/);
  });

  it('When the token is not yet valid, then 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    assertUnauthorized(await call(`Bearer ${await h.token({ ...ADMIN, nbf: now + 600 })}`), /not yet valid/);
  });

  it('When the issuer is wrong, then 401', async () => {
    assertUnauthorized(await call(`Bearer ${await h.token({ ...ADMIN, iss: 'https://evil.example/' })}`), /"iss"/);
  });

  it('When the audience is wrong, then 401', async () => {
    assertUnauthorized(await call(`Bearer ${await h.token({ ...ADMIN, aud: 'another-api' })}`), /"aud"/);
  });

  it('When the subject is missing, then 401', async () => {
    assertUnauthorized(await call(`Bearer ${await h.token({ ...ADMIN, sub: undefined })}`), /"sub"/);
  });

  it('When the kid is known but the signature is from another key, then 401', async () => {
    const other = await createSigningKey();
    const token = await h.issuer.mint(ADMIN, { key: other, kid: h.issuer.current.kid });
    assertUnauthorized(await call(`Bearer ${token}`), /signature verification failed/);
  });

  it('When a flood of tokens carries unknown kids, then the JWKS is fetched once, not per request', async () => {
    const before = h.issuer.jwksRequests;
    const other = await createSigningKey();
    for (let i = 0; i < 10; i += 1) {
      const token = await h.issuer.mint(ADMIN, { key: other, kid: `random-${i}` });
      assertUnauthorized(await call(`Bearer ${token}`), /no key matches/);
    }
    assert.ok(h.issuer.jwksRequests - before <= 1, `JWKS fetched ${h.issuer.jwksRequests - before} times`);
    assert.equal(h.tenant.requests.filter((r) => r.headers.authorization?.includes('random')).length, 0);
  });
});

describe('token lifetime and type', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { AUTH_MAX_TOKEN_LIFETIME_S: '86400', AUTH_CLOCK_TOLERANCE_S: '30' } });
  });
  after(() => h.close());
  const nowS = () => Math.floor(Date.now() / 1000);
  const call = async (claims: Record<string, unknown>) =>
    request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token({ ...ADMIN, ...claims })}`);

  it('When iat is a year in the future, then 401 saying so', async () => {
    assertUnauthorized(await call({ iat: nowS() + 365 * 86_400, exp: nowS() + 365 * 86_400 + 300 }), /issued in the future/);
  });

  it('When iat is ahead by less than the clock tolerance, then it is accepted', async () => {
    assert.equal((await call({ iat: nowS() + 20, exp: nowS() + 300 })).status, 202);
  });

  it('When exp is 100 years after iat, then 401 saying the token lives too long', async () => {
    assertUnauthorized(await call({ iat: nowS(), exp: nowS() + 100 * 365 * 86_400 }), /lives longer than this gateway accepts/);
  });

  it('When there is no iat and exp is further than AUTH_MAX_TOKEN_LIFETIME_S from now, then 401', async () => {
    assertUnauthorized(await call({ iat: undefined, exp: nowS() + 2 * 86_400 }), /lives longer/);
  });

  it('When the lifetime is within AUTH_MAX_TOKEN_LIFETIME_S, then it is accepted', async () => {
    assert.equal((await call({ iat: nowS(), exp: nowS() + 86_000 })).status, 202);
  });

  it('When AUTH_TYP=at+jwt is set, then only tokens of that type are accepted (RFC 9068)', async () => {
    const typed = await startHarness({ env: { AUTH_TYP: 'at+jwt' } });
    try {
      const sign = (typ: string) =>
        new SignJWT({ ...ADMIN, sub: 'user-1', iss: typed.issuer.issuer, aud: typed.issuer.audience })
          .setProtectedHeader({ alg: 'ES256', kid: typed.issuer.current.kid, typ })
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(typed.issuer.current.privateKey);
      const plain = await request(typed.url).post(runReportPath()).set('Authorization', `Bearer ${await sign('JWT')}`);
      assertUnauthorized(plain, /unexpected "typ" header/);
      const accessToken = await request(typed.url).post(runReportPath()).set('Authorization', `Bearer ${await sign('at+jwt')}`);
      assert.equal(accessToken.status, 202);
    } finally {
      await typed.close();
    }
  });
});

describe('caller keys over time', () => {
  it('When the identity provider rotates its key, then tokens signed with the new key are accepted', async () => {
    const h = await startHarness({ env: { AUTH_JWKS_COOLDOWN_MS: '0' } });
    try {
      const fetchesBefore = h.issuer.jwksRequests;
      await h.issuer.rotate({ retireOld: true });
      const response = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token(ADMIN)}`);
      assert.equal(response.status, 202);
      assert.equal(h.issuer.jwksRequests, fetchesBefore + 1);
    } finally {
      await h.close();
    }
  });

  it('When the identity provider rotates right after start-up (cool-down at its default), then the new kid is accepted on its first request', async () => {
    const h = await startHarness();
    try {
      const fetchesAfterStart = h.issuer.jwksRequests;
      const original = h.issuer.current;
      const rotated = await h.issuer.rotate();
      const first = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.issuer.mint(ADMIN, { key: rotated })}`);
      assert.equal(first.status, 202, 'the start-up fetch does not hold the first new kid back');
      assert.equal(h.issuer.jwksRequests, fetchesAfterStart + 1);
      const old = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.issuer.mint(ADMIN, { key: original })}`);
      assert.equal(old.status, 202);
    } finally {
      await h.close();
    }
  });

  it('When random kids flood in after a rotation, then at most one JWKS fetch per cool-down, and the next rotation after it is accepted at once', async () => {
    const cooldownMs = 1500;
    const h = await startHarness({ env: { AUTH_JWKS_COOLDOWN_MS: String(cooldownMs) } });
    try {
      const start = h.issuer.jwksRequests;
      const rotated = await h.issuer.rotate();
      assert.equal((await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.issuer.mint(ADMIN, { key: rotated })}`)).status, 202);
      const other = await createSigningKey();
      const flood = await Promise.all(
        Array.from({ length: 20 }, async (_, i) =>
          request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.issuer.mint(ADMIN, { key: other, kid: `random-${i}` })}`),
        ),
      );
      for (const response of flood) assertUnauthorized(response, /no key matches/);
      assert.equal(h.issuer.jwksRequests, start + 1, 'the flood within the cool-down fetched nothing');
      await new Promise((resolve) => setTimeout(resolve, cooldownMs + 100));
      const second = await h.issuer.rotate();
      assert.equal((await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.issuer.mint(ADMIN, { key: second })}`)).status, 202);
      assert.equal(h.issuer.jwksRequests, start + 2);
    } finally {
      await h.close();
    }
  });

  it('When tokens are refused by their claims alone (expired, another audience, another issuer, too long-lived), then no key is looked up for them: unknown kids fetch no JWKS', async () => {
    // Cool-down 0: every unknown kid that reached the key lookup would refetch the JWKS.
    const h = await startHarness({ env: { AUTH_JWKS_COOLDOWN_MS: '0' } });
    try {
      const start = h.issuer.jwksRequests;
      const other = await createSigningKey();
      const nowS = Math.floor(Date.now() / 1000);
      const refusals: Array<[Record<string, unknown>, RegExp]> = [
        [{ exp: nowS - 3600, iat: nowS - 7200 }, /JWT is expired/],
        [{ aud: 'another-api' }, /"aud" claim check failed/],
        [{ iss: 'https://evil.example/' }, /"iss" claim check failed/],
        [{ nbf: nowS + 3600 }, /not yet valid/],
        [{ iat: nowS, exp: nowS + 100 * 365 * 86_400 }, /lives longer/],
      ];
      for (const [i, [claims, reason]] of refusals.entries()) {
        const token = await h.issuer.mint({ ...ADMIN, ...claims }, { key: other, kid: `unknown-${i}` });
        assertUnauthorized(await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${token}`), reason);
      }
      assert.equal(h.issuer.jwksRequests, start, 'no JWKS fetch for a token its claims refuse');
      // The same unknown kid with claims that pass does reach the key lookup, and so the JWKS.
      const passing = await h.issuer.mint(ADMIN, { key: other, kid: 'unknown-passing' });
      assertUnauthorized(await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${passing}`), /no key matches/);
      assert.equal(h.issuer.jwksRequests, start + 1);
      assert.equal(h.tenant.requests.length, 0);
    } finally {
      await h.close();
    }
  });

  it('When the keys were just refreshed in the background, then a newly published kid is still accepted on its first request', async () => {
    const h = await startHarness({ env: { AUTH_JWKS_MAX_AGE_MS: '1000', AUTH_JWKS_COOLDOWN_MS: '60000' } });
    try {
      const start = h.issuer.jwksRequests;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      assert.equal((await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token(ADMIN)}`)).status, 202);
      await eventually(() => h.issuer.jwksRequests === start + 1, 'the background refresh of keys past their age');
      const rotated = await h.issuer.rotate();
      const response = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.issuer.mint(ADMIN, { key: rotated })}`);
      assert.equal(response.status, 202);
      assert.equal(h.issuer.jwksRequests, start + 2);
    } finally {
      await h.close();
    }
  });

  it('When the JWKS endpoint goes down after start, then keys already fetched keep working and an unknown kid is a 503', async () => {
    const h = await startHarness({ env: { AUTH_JWKS_COOLDOWN_MS: '0' } });
    try {
      const token = await h.token(ADMIN);
      h.issuer.mode = 'down';
      const ok = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${token}`);
      assert.equal(ok.status, 202);
      const rotated = await h.issuer.rotate();
      const unknown = await request(h.url)
        .post(runReportPath())
        .set('Authorization', `Bearer ${await h.issuer.mint(ADMIN, { key: rotated })}`);
      assert.equal(unknown.status, 503);
      assert.ok(Number(unknown.headers['retry-after']) >= 1);
      assert.equal(unknown.body.trackingId, unknown.headers['x-request-id']);
      assert.equal(h.tenant.requests.length, 1);
      // Still ready (the held keys verify known tokens), but saying that the IdP is failing.
      const ready = await request(h.url).get('/readyz');
      assert.equal(ready.status, 200);
      const keys = ready.body.checks.find((c: { name: string }) => c.name === 'callerKeys');
      assert.equal(keys.state, 'degraded');
      assert.match(keys.detail, /last refresh failed/);
    } finally {
      await h.close();
    }
  });

  it('When the JWKS endpoint is down from the start, then callers get 503 (never 401) and readiness fails', async () => {
    const h = await startHarness({ cold: true, env: { AUTH_JWKS_COOLDOWN_MS: '0' } });
    try {
      h.issuer.mode = 'error';
      const response = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token(ADMIN)}`);
      assert.equal(response.status, 503);
      assert.equal(response.body.messages[0].locale, 'en-US');
      assert.ok(Number(response.headers['retry-after']) >= 1);
      const ready = await request(h.url).get('/readyz');
      assert.equal(ready.status, 503);
      assert.equal(h.tenant.requests.length, 0);
      h.issuer.mode = 'up';
      const recovered = await request(h.url).post(runReportPath()).set('Authorization', `Bearer ${await h.token(ADMIN)}`);
      assert.equal(recovered.status, 202);
    } finally {
      await h.close();
    }
  });
});
