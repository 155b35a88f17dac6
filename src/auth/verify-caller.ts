import { errors, jwtVerify } from 'jose';
import type { AuthSettings } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { Caller } from './caller.ts';
import { grantsOf } from './grants.ts';
import { claimsProblem, unverifiedClaims, type ClaimRules } from './claims-problem.ts';
import type { KeySource } from './key-source.ts';
import { createVerifiedCache } from './verified-cache.ts';


export interface CallerVerifier {
  /**
   * The caller, or why not. A refusal is handed back rather than thrown: a rejected promise costs
   * Node.js its unhandled-rejection bookkeeping at every level it passes (about 2.5 µs each), and
   * a flood of bad tokens is all refusals.
   */
  verify(authorization: string | undefined): Promise<Caller | GatewayError>;
}

const unauthenticated = (reason: string) => new GatewayError('ERR_UNAUTHENTICATED', reason);
// The refusals that carry nothing of the request, made once.
const MISSING = unauthenticated('Missing bearer token');
const MALFORMED_BEARER = unauthenticated('Malformed bearer token');
const NOT_BEARER = unauthenticated('Authorization scheme must be Bearer');
const byClaims = new Map<string, GatewayError>();
/** claimsProblem's reasons are a handful of fixed texts: one error each. */
function refusedByClaims(reason: string): GatewayError {
  let refusal = byClaims.get(reason);
  if (refusal === undefined) byClaims.set(reason, (refusal = unauthenticated(reason)));
  return refusal;
}

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
  const rules: ClaimRules = { issuer: options.issuer, audience: options.audience, clockToleranceS: options.settings.clockToleranceS, maxTokenLifetimeS: options.settings.maxTokenLifetimeS };
  // jose checks the same issuer, audience and tolerance again, with the signature.
  const verifyOptions = {
    issuer: rules.issuer,
    audience: rules.audience,
    algorithms: options.settings.algorithms,
    clockTolerance: rules.clockToleranceS,
    requiredClaims: ['exp'],
    ...(options.settings.typ === undefined ? {} : { typ: options.settings.typ }),
  };

  const cache = createVerifiedCache();
  // A cached token stays accepted until its exp plus the same clock tolerance jose allows.
  const toleranceMs = rules.clockToleranceS * 1000;

  return {
    async verify(authorization) {
      if (authorization === undefined || authorization === '') return MISSING;
      const match = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*) *$/i.exec(authorization);
      if (!match) {
        const scheme = authorization.split(' ', 1)[0] ?? '';
        return /^bearer$/i.test(scheme) ? MALFORMED_BEARER : NOT_BEARER;
      }
      const token = match[1] as string;
      const cached = cache.get(token);
      if (cached) return cached;
      const claims = unverifiedClaims(token);
      const problem = claims && claimsProblem(claims, Date.now(), rules);
      if (problem) return refusedByClaims(problem);
      try {
        const { payload } = await jwtVerify(token, options.keys.getKey, verifyOptions);
        // The same bytes claimsProblem read: this only tells the compiler what it found.
        if (typeof payload.sub !== 'string') return unauthenticated('JWT validation failed: "sub" claim missing');
        const caller: Caller = { subject: payload.sub, grants: grantsOf(payload, options.settings.grantClaims), via: 'bearer' };
        cache.set(token, caller, (payload.exp as number) * 1000 + toleranceMs);
        return caller;
      } catch (error) {
        // ERR_KEYS_UNAVAILABLE (503) from the key source, or jose's refusal.
        return error instanceof GatewayError ? error : unauthenticated(reasonFor(error));
      }
    },
  };
}
