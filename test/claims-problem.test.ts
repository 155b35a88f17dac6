// The claims read before a signature is checked may only spare the verification: the tokens the
// gateway accepts must be exactly those it accepted when jose checked everything first (jose's
// exp, nbf, iss and aud with the clock tolerance, then a subject and the lifetime rules). Checked
// against jose itself over generated claims near every boundary, seeded.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import { claimsProblem, unverifiedClaims, type ClaimRules } from '../src/auth/claims-problem.ts';

const SEED = 20261203;
const ISSUER = 'https://idp.example/';
const RULES: ClaimRules = { issuer: ISSUER, audience: ['bff', 'other-bff'], clockToleranceS: 30, maxTokenLifetimeS: 3600 };
// A clock with milliseconds, so that jose's whole seconds and the lifetime rule's fraction both show.
const NOW_MS = 1_800_000_000_437;
const NOW_S = NOW_MS / 1000;

/** What the gateway accepted before: jose first, then a subject and the lifetime (as it was written). */
async function acceptedBefore(token: string, key: CryptoKey): Promise<boolean> {
  try {
    const { payload } = await jwtVerify(token, key, {
      issuer: RULES.issuer, audience: RULES.audience, clockTolerance: RULES.clockToleranceS, requiredClaims: ['exp'], currentDate: new Date(NOW_MS),
    });
    if (typeof payload.sub !== 'string' || payload.sub === '') return false;
    const exp = payload.exp as number;
    if (typeof payload.iat === 'number' && payload.iat > NOW_S + RULES.clockToleranceS) return false;
    return exp - (typeof payload.iat === 'number' ? payload.iat : NOW_S) <= RULES.maxTokenLifetimeS;
  } catch {
    return false;
  }
}

/** What it accepts now: the claims first, then jose. */
async function acceptedNow(token: string, key: CryptoKey): Promise<boolean> {
  const claims = unverifiedClaims(token);
  if (claims && claimsProblem(claims, NOW_MS, RULES) !== undefined) return false;
  try {
    const { payload } = await jwtVerify(token, key, {
      issuer: RULES.issuer, audience: RULES.audience, clockTolerance: RULES.clockToleranceS, requiredClaims: ['exp'], currentDate: new Date(NOW_MS),
    });
    return typeof payload.sub === 'string';
  } catch {
    return false;
  }
}

// Seconds at each edge (the tolerance's either side of now, the lifetime's), a second either way,
// whole or not: jose rounds its clock down, the lifetime rule does not.
const edge = fc
  .tuple(fc.constantFrom(-30, 30, 3600), fc.constantFrom(-1, 0, 1), fc.constantFrom(0, 0.25, 0.5))
  .map(([point, step, fraction]) => Math.floor(NOW_S) + point + step + fraction);
const numericDate = fc.oneof({ weight: 2, arbitrary: edge }, { weight: 1, arbitrary: fc.constantFrom(undefined, 'soon', null) });
const VARIANTS = {
  exp: numericDate,
  nbf: numericDate,
  iat: numericDate,
  iss: fc.constantFrom('https://evil.example/', undefined, ''),
  aud: fc.constantFrom('other-bff', 'nobody', ['nobody', 'bff'], ['nobody'], [], undefined),
  sub: fc.constantFrom('', undefined, 7),
};
const VALID: Record<string, unknown> = { iss: ISSUER, aud: 'bff', sub: 'user-1', iat: Math.floor(NOW_S), exp: Math.floor(NOW_S) + 300 };
/** A valid token's claims with one or two of them changed, and sometimes exp a lifetime after iat (or now). */
const claimsArbitrary = fc
  .tuple(fc.record(VARIANTS), fc.subarray(Object.keys(VARIANTS), { minLength: 1, maxLength: 2 }), fc.option(fc.constantFrom(-1, 0, 0.25, 1)))
  .map(([variants, changed, lifetimeStep]) => {
    const claims: Record<string, unknown> = { ...VALID };
    for (const name of changed) claims[name] = variants[name as keyof typeof variants];
    // Without iat the lifetime runs from now, fraction and all.
    const from = typeof claims.iat === 'number' ? claims.iat : Math.floor(NOW_S);
    if (typeof lifetimeStep === 'number') claims.exp = from + RULES.maxTokenLifetimeS + lifetimeStep;
    return claims;
  });

describe('claims read before the signature (fast-check, seeded)', () => {
  it('accept exactly the tokens that jose-first accepted', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(claimsArbitrary, async (claims) => {
        const payload = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined)) as JWTPayload;
        const token = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256' }).sign(privateKey);
        const accepted = await acceptedNow(token, publicKey);
        assert.equal(accepted, await acceptedBefore(token, publicKey), JSON.stringify(payload));
        seen[accepted ? 'accepted' : 'refused'] += 1;
      }),
      { seed: SEED, numRuns: 2000 },
    );
    // Both sides of every rule were reached, not only refusals.
    assert.ok(seen.accepted > 200 && seen.refused > 200, JSON.stringify(seen));
  });

  it('refuse an expired token by its claims, and leave a malformed one to jose', () => {
    assert.equal(claimsProblem({ sub: 'u', iss: ISSUER, aud: 'bff', exp: Math.floor(NOW_S) - 31 }, NOW_MS, RULES), 'JWT validation failed: JWT is expired');
    assert.equal(claimsProblem({ sub: 'u', iss: ISSUER, aud: 'bff', exp: Math.floor(NOW_S) - 29 }, NOW_MS, RULES), undefined);
    assert.equal(unverifiedClaims('a.b.c'), undefined);
  });
});
