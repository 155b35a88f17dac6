import { decodeJwt, type JWTPayload } from 'jose';

export interface ClaimRules {
  issuer: string;
  audience: string[];
  clockToleranceS: number;
  maxTokenLifetimeS: number;
}

/**
 * Why a token's claims alone refuse it, read before its signature is checked; undefined when they
 * do not (or cannot be read: then jose says why). A verification is the dearest part of a refusal
 * (an ES256 check is most of a random-signature 401's CPU), and the usual bad token is a real one
 * that expired and is sent again and again, or one minted for another audience: those need no
 * signature to be refused. This only ever refuses; what it lets through jose checks in full, the
 * same claims included, so a forged token gains nothing by passing it.
 *
 * The checks and their tolerances are jose's own (exp, nbf, iss, aud), plus what jose does not
 * check: a missing subject, an iat in the future, a lifetime longer than the gateway accepts (a
 * token minted for a year, or dated a year ahead, is a stolen signing key's favourite).
 */
export function claimsProblem(payload: JWTPayload, nowMs: number, rules: ClaimRules): string | undefined {
  const { exp, nbf, iat } = payload;
  // jose's clock: whole seconds, rounded down.
  const nowS = Math.floor(nowMs / 1000);
  const tolerance = rules.clockToleranceS;
  if (typeof exp === 'number' && exp <= nowS - tolerance) return 'JWT validation failed: JWT is expired';
  if (typeof nbf === 'number' && nbf > nowS + tolerance) return 'JWT validation failed: JWT is not yet valid';
  if (payload.iss !== rules.issuer) return 'JWT validation failed: "iss" claim check failed';
  if (!audienceMatches(payload.aud, rules.audience)) return 'JWT validation failed: "aud" claim check failed';
  if (typeof payload.sub !== 'string' || payload.sub === '') return 'JWT validation failed: "sub" claim missing';
  if (typeof iat === 'number' && iat > nowMs / 1000 + tolerance) return 'JWT validation failed: JWT was issued in the future';
  if (typeof exp === 'number' && exp - (typeof iat === 'number' ? iat : nowMs / 1000) > rules.maxTokenLifetimeS) {
    return 'JWT validation failed: JWT lives longer than this gateway accepts';
  }
  return undefined;
}

/** jose's rule: a string audience must be one of ours, a list must share one with ours. */
function audienceMatches(aud: JWTPayload['aud'], ours: string[]): boolean {
  if (typeof aud === 'string') return ours.includes(aud);
  return Array.isArray(aud) && ours.some((one) => aud.includes(one));
}

/** The claims of a compact JWT, unverified; undefined when they are not a JSON object. */
export function unverifiedClaims(token: string): JWTPayload | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}
