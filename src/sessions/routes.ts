// The backend-for-frontend endpoints (RFC 10017): the gateway runs the login, keeps the tokens on
// the server, and gives the browser only an HttpOnly cookie holding an opaque signed id.
import { Router, type Request, type Response } from 'express';
import type { Caller } from '../auth/caller.ts';
import { grantsOf, type GrantClaims } from '../auth/grants.ts';
import type { SessionSettings } from '../config.ts';
import { GatewayError } from '../errors.ts';
import { contextOf } from '../http/context.ts';
import { documentHeaders } from '../http/security-headers.ts';
import { readForm } from '../http/read-form.ts';
import { clearedSessionCookie, cookieValue, newSessionId, sessionCookie, SESSION_COOKIE, signId, verifySignedId } from './cookie.ts';
import { refusedByProvider, type OidcLogin } from './login.ts';
import { LOGIN_TTL_MS, type PendingLogins } from './pending-logins.ts';
import type { Metrics } from '../metrics.ts';
import type { Session, SessionStore } from './store.ts';

const LOGIN_COOKIE = '__Host-bff-login';
/** Where the session routes are mounted: the API's front chain sends the paths under it to Express (src/app.ts). */
export const SESSION_ROUTES_MOUNT = '/bff';
export const BACKCHANNEL_LOGOUT_PATH = `${SESSION_ROUTES_MOUNT}/backchannel-logout`;
const MAX_LOGOUT_BODY_BYTES = 16 * 1024;

export interface SessionDeps {
  metrics: Pick<Metrics, 'sessionEvents'>;
  settings: SessionSettings;
  login: OidcLogin;
  store: SessionStore;
  pending: PendingLogins;
  grantClaims: GrantClaims;
}

/** A same-origin path only: anything else would make the login an open redirect. */
export function safeReturnTo(raw: unknown, origin: URL): string {
  if (raw === undefined) return '/';
  if (typeof raw !== 'string' || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\') || /[\r\n\t]/.test(raw)) {
    throw new GatewayError('ERR_BAD_REQUEST', 'returnTo must be a path on this origin, such as /app/.');
  }
  const resolved = new URL(raw, origin);
  if (resolved.origin !== origin.origin) throw new GatewayError('ERR_BAD_REQUEST', 'returnTo must be a path on this origin, such as /app/.');
  return resolved.pathname + resolved.search;
}

/** The caller a live session stands for: its roles and scopes under the same claim rules as bearer tokens. */
export const callerOf = (session: Session, claims: GrantClaims): Caller => ({ subject: session.subject, grants: grantsOf(session.claims, claims), via: 'session' });

const unauthenticated = (why: string) => new GatewayError('ERR_UNAUTHENTICATED', why);

/** X-CSRF: 1 forces a CORS preflight, so another site's page cannot send it with the cookie. */
export const hasCsrfHeader = (req: Request) => req.headers['x-csrf'] === '1';

function requireCsrfHeader(req: Request): void {
  if (!hasCsrfHeader(req)) throw unauthenticated('X-CSRF: 1 is required with a session cookie');
}

const RENEW_AT_FRACTION = 0.8;
// One refresh per session at a time, however many of its requests arrive meanwhile.
const refreshing = new Map<string, Promise<Session>>();

/**
 * Renews the session's access token with its refresh token. A refresh the provider refuses ends
 * the session (401); the provider unreachable is a 503 and the session stays.
 */
function renewed(session: Session, deps: Pick<SessionDeps, 'store' | 'login' | 'metrics'>): Promise<Session> {
  const running = refreshing.get(session.id);
  if (running) return running;
  const work = (async () => {
    try {
      const tokens = await deps.login.refresh(session.refreshToken as string);
      const next: Session = {
        ...session,
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        idToken: tokens.idToken ?? session.idToken,
        claims: tokens.claims ?? session.claims,
        accessExpiresAtMs: tokens.accessExpiresAtMs,
        accessObtainedAtMs: Date.now(),
      };
      await deps.store.put(next);
      deps.metrics.sessionEvents.inc({ event: 'refresh' });
      return next;
    } catch (error) {
      if (refusedByProvider(error)) {
        await deps.store.delete(session.id);
        deps.metrics.sessionEvents.inc({ event: 'refresh_refused' });
        throw unauthenticated('The session has ended: the identity provider refused to renew it');
      }
      throw new GatewayError('ERR_KEYS_UNAVAILABLE', 'The identity provider is unreachable; the session could not be renewed now.', { retryAfterS: 5, cause: error });
    }
  })().finally(() => refreshing.delete(session.id));
  refreshing.set(session.id, work);
  return work;
}

/** The live session behind a request's cookie (renewed when due), or a 401 that says why there is none. */
export async function sessionOf(req: Request, deps: Pick<SessionDeps, 'settings' | 'store' | 'login' | 'metrics'>): Promise<Session> {
  const id = verifySignedId(cookieValue(req.headers.cookie, SESSION_COOKIE), deps.settings.secrets);
  if (id === undefined) throw unauthenticated('No valid session');
  const session = await deps.store.touch(id);
  if (!session) throw unauthenticated('The session has ended');
  const renewAt = session.accessObtainedAtMs + (session.accessExpiresAtMs - session.accessObtainedAtMs) * RENEW_AT_FRACTION;
  if (session.refreshToken !== undefined && Date.now() >= renewAt) return renewed(session, deps);
  return session;
}

export function sessionRoutes(deps: SessionDeps): Router {
  const router = Router({ caseSensitive: true, strict: true });
  const { settings } = deps;
  // The login, the callback and the logout are browser navigations that carry codes and state.
  router.use(SESSION_ROUTES_MOUNT, documentHeaders());

  router.get('/bff/login', async (req: Request, res: Response) => {
    contextOf(res).route = 'GET /bff/login';
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const returnTo = safeReturnTo(query.get('returnTo') ?? undefined, settings.publicOrigin);
    const { url, pending: login } = await deps.login.start(returnTo);
    await deps.pending.put(login);
    // Binds the login to this browser: the callback's state must be the one this cookie signs.
    res.setHeader('set-cookie', `${LOGIN_COOKIE}=${signId(login.state, settings.secrets)}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${LOGIN_TTL_MS / 1000}`);
    res.setHeader('cache-control', 'no-store');
    res.redirect(302, url.href);
  });

  router.get('/bff/callback', async (req: Request, res: Response) => {
    contextOf(res).route = 'GET /bff/callback';
    const callbackUrl = new URL(req.url ?? '', settings.publicOrigin);
    const state = callbackUrl.searchParams.get('state');
    const bound = verifySignedId(cookieValue(req.headers.cookie, LOGIN_COOKIE), settings.secrets);
    const login = state !== null && bound === state ? await deps.pending.take(state) : undefined;
    if (!login) throw new GatewayError('ERR_BAD_REQUEST', 'This login is unknown, already used, expired, or was started in another browser: start it again.');
    const tokens = await deps.login.finish(callbackUrl, login);
    const now = Date.now();
    const session: Session = {
      id: newSessionId(),
      subject: String(tokens.claims.sub),
      name: typeof tokens.claims.name === 'string' ? tokens.claims.name : undefined,
      claims: tokens.claims,
      accessToken: tokens.accessToken,
      refreshToken: tokens.refreshToken,
      idToken: tokens.idToken,
      providerSid: typeof tokens.claims.sid === 'string' ? tokens.claims.sid : undefined,
      accessExpiresAtMs: tokens.accessExpiresAtMs,
      accessObtainedAtMs: now,
      createdAtMs: now,
      lastSeenAtMs: now,
    };
    await deps.store.put(session);
    deps.metrics.sessionEvents.inc({ event: 'login' });
    res.setHeader('set-cookie', [
      sessionCookie(signId(session.id, settings.secrets), settings.maxAgeS),
      `${LOGIN_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`,
    ]);
    res.setHeader('cache-control', 'no-store');
    res.redirect(302, login.returnTo);
  });

  router.get('/bff/user', async (req: Request, res: Response) => {
    contextOf(res).route = 'GET /bff/user';
    requireCsrfHeader(req);
    const session = await sessionOf(req, deps);
    const { grants } = callerOf(session, deps.grantClaims);
    res.setHeader('cache-control', 'no-store');
    res.json({
      sub: session.subject,
      name: session.name ?? null,
      roles: [...grants.roles],
      scopes: [...grants.scopes],
      expiresAt: new Date(Math.min(session.lastSeenAtMs + settings.idleTimeoutS * 1000, session.createdAtMs + settings.maxAgeS * 1000)).toISOString(),
    });
  });
  router.post('/bff/logout', async (req: Request, res: Response) => {
    contextOf(res).route = 'POST /bff/logout';
    requireCsrfHeader(req);
    const session = await sessionOf(req, deps);
    // Gone from the store at once: every replica reading it refuses the cookie from now on.
    await deps.store.delete(session.id);
    deps.metrics.sessionEvents.inc({ event: 'logout' });
    res.setHeader('set-cookie', clearedSessionCookie());
    res.setHeader('cache-control', 'no-store');
    res.json({ endSessionUrl: deps.login.endSessionUrl(session.idToken) });
  });
  // Called by the provider, not a browser: no cookie, no CSRF header; the signed token is the proof.
  router.post(BACKCHANNEL_LOGOUT_PATH, async (req: Request, res: Response) => {
    contextOf(res).route = `POST ${BACKCHANNEL_LOGOUT_PATH}`;
    const token = (await readForm(req, MAX_LOGOUT_BODY_BYTES)).get('logout_token');
    if (!token) throw new GatewayError('ERR_BAD_REQUEST', 'logout_token is required.');
    const { sid, sub } = await deps.login.verifyLogoutToken(token);
    const ended = sid !== undefined ? await deps.store.deleteWhere({ providerSid: sid }) : await deps.store.deleteWhere({ subject: sub as string });
    for (let i = 0; i < ended; i += 1) deps.metrics.sessionEvents.inc({ event: 'logout' });
    contextOf(res).log.info({ ended, by: sid !== undefined ? 'sid' : 'sub' }, 'back-channel logout');
    res.setHeader('cache-control', 'no-store');
    res.status(200).end();
  });
  return router;
}
