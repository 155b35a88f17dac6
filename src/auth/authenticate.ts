// Who is calling: a bearer token, or (in session mode) the browser session behind its cookie.
// Both arrive at the same Caller, so policy, budget, fairness, idempotency and audit cannot tell
// them apart. An Authorization header, when present, is used instead of the cookie.
import type { Request } from 'express';
import { GatewayError } from '../errors.ts';
import { cookieValue, SESSION_COOKIE } from '../sessions/cookie.ts';
import { callerOf, hasCsrfHeader, sessionOf, type SessionDeps } from '../sessions/routes.ts';
import type { Caller } from './caller.ts';
import type { CallerVerifier } from './verify-caller.ts';

/**
 * The caller, or the refusal (handed back, not thrown: see CallerVerifier). `fileDownload`: a GET
 * that answers a file, the one kind a top-level navigation may fetch with the cookie alone.
 */
export type Authenticate = (req: Request, route: { fileDownload: boolean }) => Promise<Caller | GatewayError>;

const CSRF_MISSING = new GatewayError('ERR_UNAUTHENTICATED', 'X-CSRF: 1 is required with a session cookie');

/**
 * A cookie-authenticated call must carry X-CSRF: 1: the header forces a CORS preflight, so another
 * site's page cannot send it. The exception is a file download by top-level navigation (a link
 * the user clicked on this origin, or typed), where no header can be added.
 */
function csrfSafe(req: Request, fileDownload: boolean): boolean {
  if (hasCsrfHeader(req)) return true;
  const site = req.headers['sec-fetch-site'];
  return fileDownload && req.method === 'GET' && (site === 'same-origin' || site === 'none');
}

export function authenticator(verifier: CallerVerifier, sessions: Pick<SessionDeps, 'settings' | 'store' | 'grantClaims' | 'login' | 'metrics'> | undefined): Authenticate {
  return async (req, route) => {
    const { authorization } = req.headers;
    if (authorization !== undefined || !sessions || cookieValue(req.headers.cookie, SESSION_COOKIE) === undefined) {
      return verifier.verify(authorization);
    }
    if (!csrfSafe(req, route.fileDownload)) return CSRF_MISSING;
    try {
      return callerOf(await sessionOf(req, sessions), sessions.grantClaims);
    } catch (error) {
      if (error instanceof GatewayError) return error;
      throw error;
    }
  };
}
