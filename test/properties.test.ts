// Standing attacks, generated: path ids, header values and token contents a hostile client could
// send. Seeded and bounded, so a failure replays exactly (fast-check prints the seed and the path).
// The properties: nothing malformed reaches the tenant, nothing answers 5xx, nothing the caller
// sent is echoed back unsanitised, and every answer has the contract's shape.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { base64url, SignJWT } from 'jose';
import { rawExchange, type RawAnswer } from './support/raw-http.ts';
import { CAMPAIGN, startHarness, type Harness } from './support/harness.ts';

const SEED = 20261201;
const RUNS = 300;
const ID = /^[A-Za-z0-9_-]{1,128}$/;
const HEX32 = /^[0-9a-f]{32}$/;

/**
 * The contract's shapes: ErrorResponseDto for the gateway's own errors, {error} for 401, {message}
 * for 429. A 400/403/404 the tenant answered is relayed as it is (its own trackingId).
 */
function assertContractShape(answer: RawAnswer, relayed = false): void {
  assert.ok(answer.status >= 200 && answer.status < 500, `status ${answer.status}: ${answer.raw.slice(0, 300)}`);
  assert.ok(answer.headers['x-request-id'], 'every answer has X-Request-Id');
  if (answer.status < 400) return;
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  if (answer.status === 401) {
    assert.deepEqual(Object.keys(body), ['error']);
    assert.match(answer.headers['www-authenticate'] ?? '', /^Bearer .*error="invalid_token"/);
  } else if (answer.status === 429) {
    assert.deepEqual(body, { message: 'Rate Limit Exceeded' });
  } else {
    assert.deepEqual(Object.keys(body).sort(), ['causes', 'detailCode', 'messages', 'trackingId']);
    if (!relayed) assert.equal(body.trackingId, answer.headers['x-request-id']);
  }
}

const request = (method: string, path: string, headers: Record<string, string>) =>
  Buffer.from(
    `${method} ${path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n${Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('')}\r\n`,
    'latin1',
  );

// Strings a prober reaches for, besides random ones: encodings, dot segments, NUL, separators,
// unicode, overlong.
const hostileFragment = fc.constantFrom('..', '.', '%2e%2e', '%2E%2E%2F', '%2f', '%5c', '%00', '%0d%0a', '%25', '%', '%u002e', '\u00e9', '%C3%A9', '%F0%9F%98%80', ';', '?', '#', '~', 'A'.repeat(129), '*', '%20');
const hostileId = fc.oneof(
  fc.array(fc.oneof(hostileFragment, fc.string({ maxLength: 8 }).map(encodeURIComponent), fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/)), { minLength: 0, maxLength: 6 }).map((parts) => parts.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,140}$/),
);
// Header values as raw bytes: printable ASCII, latin-1, and the odd control byte (never CR or LF,
// which would end the header: that is request smuggling's domain, refused by Node's parser).
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
  fc.string({ unit: fc.integer({ min: 0x00, max: 0xff }).filter((c) => c !== 0x0a && c !== 0x0d).map((c) => String.fromCharCode(c)), maxLength: 80 }),
  fc.constantFrom('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'vendor=x,other=y', '<script>alert(1)</script>', '${jndi:ldap://x}', "' OR 1=1 --"),
);

/**
 * The rules, written again independently of the gateway's code: what a token must be to start a
 * report (ES256 by the issuer's key, iss, aud, a sub, a live exp, no future iat, a lifetime of at
 * most a day, the role as a role), else 401, or 403 when it is valid but lacks the role.
 */
function expectedStatus(header: { alg: string; kid: string }, c: Record<string, unknown>, garbled: boolean, kid: string, issuer: string, audience: string): number {
  const nowS = Date.now() / 1000;
  const tolerance = 30;
  const num = (v: unknown): v is number => typeof v === 'number';
  if (garbled || header.alg !== 'ES256' || header.kid !== kid) return 401;
  if (c.iss !== issuer) return 401;
  if (!(c.aud === audience || (Array.isArray(c.aud) && c.aud.includes(audience)))) return 401;
  if (!num(c.exp) || c.exp <= nowS - tolerance) return 401;
  if (c.iat !== undefined && (!num(c.iat) || c.iat > nowS + tolerance)) return 401;
  if (c.nbf !== undefined && (!num(c.nbf) || c.nbf > nowS + tolerance)) return 401;
  if (typeof c.sub !== 'string' || c.sub === '') return 401;
  if (c.exp - (num(c.iat) ? c.iat : nowS) > 86_400) return 401;
  const roles = typeof c.roles === 'string' ? c.roles.split(/\s+/) : Array.isArray(c.roles) ? c.roles : [];
  return roles.includes('CERT_ADMIN') ? 202 : 403;
}

describe('generated attacks (fast-check, seeded)', () => {
  let h: Harness;
  let admin: string;
  before(async () => {
    // Budget large enough that no run is refused for budget: every refusal here must be about the input.
    h = await startHarness({ env: { UPSTREAM_RATE_LIMIT: '100000', UPSTREAM_RATE_WINDOW_MS: '1000', UPSTREAM_RATE_BURST: '100000', LOG_LEVEL: 'info' } });
    admin = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
  });
  after(() => h.close());

  it('path ids: only a valid id reaches the tenant, nothing answers 5xx, every answer has the contract shape', async () => {
    await fc.assert(
      fc.asyncProperty(hostileId, fc.boolean(), async (id, exportRoute) => {
        const path = exportRoute ? `/v3/non-employee-sources/${id}/non-employees/download` : `/v3/campaigns/${id}/run-report/CAMPAIGN_STATUS_REPORT`;
        const before = h.tenant.requests.length;
        const answer = await rawExchange(h.url, request(exportRoute ? 'GET' : 'POST', path, { Authorization: admin }));
        const reached = h.tenant.requests.slice(before);
        assertContractShape(answer, reached.length > 0);
        let decoded: string | undefined;
        try {
          decoded = decodeURIComponent(id);
        } catch {
          decoded = undefined;
        }
        if (decoded !== undefined && ID.test(decoded) && !id.includes('/')) {
          // A valid id (and the tenant knows it, or answers its own 404, relayed).
          assert.equal(reached.length, 1, `${id} should have reached the tenant`);
        } else {
          assert.equal(reached.length, 0, `${JSON.stringify(id)} reached the tenant`);
          assert.ok([400, 404].includes(answer.status), `${answer.status} for ${JSON.stringify(id)}`);
        }
        for (const r of reached) {
          const sent = r.path.split('/')[3] as string;
          assert.match(decodeURIComponent(sent), ID, `what reached the tenant is a plain id: ${r.path}`);
        }
        if (decoded !== undefined && !ID.test(decoded) && decoded.length > 2) assert.ok(!answer.raw.includes(decoded), 'the id is not echoed back');
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('header values (X-Request-Id, traceparent, tracestate, Idempotency-Key): never 5xx, never echoed unsanitised, only sane values go upstream', async () => {
    await fc.assert(
      fc.asyncProperty(headerValue, headerValue, headerValue, headerValue, async (requestId, traceparent, tracestate, key) => {
        const before = h.tenant.requests.length;
        const answer = await rawExchange(
          h.url,
          request('POST', `/v3/campaigns/${CAMPAIGN}/run-report/CAMPAIGN_STATUS_REPORT`, {
            Authorization: admin,
            'X-Request-Id': requestId,
            traceparent,
            tracestate,
            'Idempotency-Key': key,
          }),
        );
        assertContractShape(answer);
        const echoed = answer.headers['x-request-id'] as string;
        if (echoed !== requestId.trim()) assert.match(echoed, HEX32, 'an insane X-Request-Id is replaced, not echoed');
        else assert.match(echoed, /^[A-Za-z0-9._:@-]{1,128}$/);
        for (const r of h.tenant.requests.slice(before)) {
          assert.match(String(r.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
          const forwardedState = r.headers.tracestate;
          if (forwardedState !== undefined) assert.match(String(forwardedState), /^[\x20-\x7e]{1,512}$/);
          assert.match(String(r.headers['x-request-id']), /^[A-Za-z0-9._:@-]{1,128}$/);
          assert.equal(r.headers['idempotency-key'], undefined, 'the key is the gateway\'s business, not SailPoint\'s');
        }
        // Nothing odd from the caller comes back in the body.
        for (const value of [requestId, traceparent, tracestate, key]) {
          if (value.length >= 6 && !/^[A-Za-z0-9._:@-]+$/.test(value)) assert.ok(!answer.body.includes(value), `echoed: ${JSON.stringify(value)}`);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('token headers and claims: answered exactly as the rules say (202, else 401 or 403), and a refusal echoes nothing of the token', async () => {
    const key = h.issuer.current;
    const claimValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.constant({ nested: 'x' }));
    const nowS = Math.floor(Date.now() / 1000);
    const valid = { iss: h.issuer.issuer, aud: h.issuer.audience, sub: 'user-1', exp: nowS + 300, iat: nowS, roles: ['CERT_ADMIN'] };
    // A valid token with none, one or a few of its parts changed: mostly near the rules' edges.
    const header = fc.record({
      alg: fc.oneof({ arbitrary: fc.constant('ES256'), weight: 4 }, { arbitrary: fc.constantFrom('none', 'HS256', 'RS256', 'es256', ''), weight: 1 }),
      kid: fc.oneof({ arbitrary: fc.constant(key.kid), weight: 4 }, { arbitrary: fc.oneof(fc.string({ maxLength: 40 }), fc.constant('../../etc/passwd')), weight: 1 }),
      typ: fc.constantFrom('JWT', 'at+jwt', 'jwt', 'x'),
    });
    const changes = fc.record(
      {
        iss: claimValue,
        aud: fc.oneof(fc.constant([h.issuer.audience, 'other']), claimValue),
        sub: claimValue,
        exp: fc.oneof(fc.integer({ min: nowS - 100_000, max: nowS + 400 * 86_400 }), claimValue),
        iat: fc.oneof(fc.integer({ min: nowS - 100_000, max: nowS + 400 * 86_400 }), claimValue),
        nbf: fc.oneof(fc.integer({ min: nowS - 100, max: nowS + 100_000 }), claimValue),
        roles: claimValue,
        scope: fc.constantFrom('CERT_ADMIN', 'openid CERT_ADMIN'),
      },
      { requiredKeys: [] },
    );
    const claims = fc.oneof({ arbitrary: fc.constant({}), weight: 1 }, { arbitrary: changes, weight: 4 }).map((c) => ({ ...valid, ...c }));
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(header, claims, fc.boolean(), async (protectedHeader, payload, garbleSignature) => {
        let token: string;
        try {
          token = await new SignJWT(payload as Record<string, unknown>).setProtectedHeader({ ...protectedHeader, alg: 'ES256' }).sign(key.privateKey);
        } catch {
          return; // jose refuses to sign it at all (e.g. a crit it does not know): nothing to send
        }
        const [, body, signature] = token.split('.') as [string, string, string];
        // The header as generated (alg: none, HS256…), over a signature made for ES256.
        const forgedHeader = base64url.encode(JSON.stringify(protectedHeader));
        token = `${forgedHeader}.${body}.${garbleSignature ? base64url.encode('garbage-signature') : signature}`;
        const before = h.tenant.requests.length;
        const answer = await rawExchange(h.url, request('POST', `/v3/campaigns/${CAMPAIGN}/run-report/CAMPAIGN_STATUS_REPORT`, { Authorization: `Bearer ${token}` }));
        assertContractShape(answer);
        const expected = expectedStatus(protectedHeader, payload, garbleSignature, key.kid, h.issuer.issuer, h.issuer.audience);
        assert.equal(answer.status, expected, `${answer.body} for ${JSON.stringify({ protectedHeader, payload, garbleSignature })}`);
        if (answer.status === 202) {
          assert.equal(h.tenant.requests.length, before + 1);
          seen.accepted += 1;
        } else {
          seen.refused += 1;
          assert.ok([401, 403].includes(answer.status), `status ${answer.status}`);
          assert.equal(h.tenant.requests.length, before, 'a refused token reached the tenant');
          assert.ok(!answer.raw.includes(body) && !answer.raw.includes(signature), 'the token is not echoed');
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    // Else the property proved nothing: both sides of the rule were exercised.
    assert.ok(seen.accepted > 0 && seen.refused > 0, JSON.stringify(seen));
  });
});
