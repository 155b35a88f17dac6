import { errors, jwtVerify } from 'jose';
import type { AuthSettings } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { Caller } from './caller.ts';
import { grantsOf } from './grants.ts';
import { claimsProblem, unverifiedClaims, type ClaimRules } from './claims-problem.ts';
import type { KeySource } from './key-source.ts';
import { createVerifiedCache } from './verified-cache.ts';


export interface CallerVerifier {
  verify(authorization: string | undefined): Promise<Caller>;
}

const unauthenticated = (reason: string) => new GatewayError('ERR_UNAUTHENTICATED', reason);

/** Why a token was refused, in words a front-end developer can act on; never echoes the token. */
function reasonFor(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'JWT validation failed: JWT is expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'JWT validation failed: JWT is not yet valid';
    if (error.claim === 'typ') return 'JWT validation failed: unexpected "typ" header';
    if (error.claim === 'iat') return 'JWT validation failed: JWT was issued in the future';
    return `JWT validation failed: "${error.claim}" claim check failed`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'JWT validation failed: signing algorithm not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'JWT validation failed: signature verification failed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'JWT validation failed: no key matches the token';
  if (error instanceof errors.JWKSMultipleMatchingKeys) return 'JWT validation failed: the token does not name its key';
  if (error instanceof errors.JOSENotSupported) return 'JWT validation failed: unsupported token';
  return 'JWT validation failed: malformed token';
}

export function createCallerVerifier(options: {
  keys: KeySource;
  issuer: string;
  audience: string[];
  settings: AuthSettings;
}): CallerVerifier {
  const verifyOptions = {
    issuer: options.issuer,
    audience: options.audience,
    algorithms: options.settings.algorithms,
    clockTolerance: options.settings.clockToleranceS,
    requiredClaims: ['exp'],
    ...(options.settings.typ === undefined ? {} : { typ: options.settings.typ }),
  };
  const rules: ClaimRules = { issuer: options.issuer, audience: options.audience, clockToleranceS: options.settings.clockToleranceS, maxTokenLifetimeS: options.settings.maxTokenLifetimeS };

  const cache = createVerifiedCache();
  // A cached token stays accepted until its exp plus the same clock tolerance jose allows.
  const toleranceMs = options.settings.clockToleranceS * 1000;

  return {
    async verify(authorization) {
      if (authorization === undefined || authorization === '') throw unauthenticated('Missing bearer token');
      const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*) *$/i.exec(authorization);
      if (!match) {
        const scheme = authorization.split(' ', 1)[0] ?? '';
        throw unauthenticated(/^bearer$/i.test(scheme) ? 'Malformed bearer token' : 'Authorization scheme must be Bearer');
      }
      const token = match[1] as string;
      const cached = cache.get(token);
      if (cached) return cached;
      const claims = unverifiedClaims(token);
      const problem = claims && claimsProblem(claims, Date.now(), rules);
      if (problem) throw unauthenticated(problem);
      try {
        const { payload } = await jwtVerify(token, options.keys.getKey, verifyOptions);
        // The same bytes claimsProblem read: this only tells the compiler what it found.
        if (typeof payload.sub !== 'string') throw unauthenticated('JWT validation failed: "sub" claim missing');
        const caller: Caller = { subject: payload.sub, grants: grantsOf(payload, options.settings.grantClaims), via: 'bearer' };
        cache.set(token, caller, (payload.exp as number) * 1000 + toleranceMs);
        return caller;
      } catch (error) {
        if (error instanceof GatewayError) throw error;
        throw unauthenticated(reasonFor(error));
      }
    },
  };
}
