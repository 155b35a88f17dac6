// The OpenID Connect side of browser sessions, all of it done by openid-client: discovery (through
// the gateway's egress, so HTTPS_PROXY applies), the authorization URL with PKCE S256, state and
// nonce, the code exchange with ID-token validation, refresh, and the end-session URL.
import { createRemoteJWKSet, customFetch as joseCustomFetch, jwtVerify, type JWTVerifyGetKey } from 'jose';
import * as oidc from 'openid-client';
import type { SessionSettings } from '../config.ts';
import { GatewayError } from '../errors.ts';

/** A login in progress, kept on the server under its state until the callback uses it once. */
export interface PendingLogin {
  state: string;
  codeVerifier: string;
  nonce: string;
  returnTo: string;
  createdAtMs: number;
}

export interface LoginTokens {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  claims: Record<string, unknown>;
  accessExpiresAtMs: number;
}

export interface OidcLogin {
  /** Discovery; resolves whether or not it worked (readiness reports it). */
  warm(): Promise<void>;
  /** Discovery, checked at start: rejects with one line saying why the provider cannot be used. */
  discover(): Promise<void>;
  ready(): boolean;
  start(returnTo: string): Promise<{ url: URL; pending: PendingLogin }>;
  finish(callbackUrl: URL, pending: PendingLogin): Promise<LoginTokens>;
  refresh(refreshToken: string): Promise<Omit<LoginTokens, 'claims'> & { claims: Record<string, unknown> | undefined }>;
  endSessionUrl(idToken: string | undefined): string | null;
  /** A back-channel logout_token checked (OIDC Back-Channel Logout 1.0 §2.6): whose sessions to end. */
  verifyLogoutToken(token: string): Promise<{ sid?: string; sub?: string }>;
}

const DISCOVERY_ATTEMPTS = 3;
const DISCOVERY_RETRY_MS = 1000;

const discoveryUrl = (issuer: URL) => new URL(`${issuer.pathname.replace(/\/$/, '')}/.well-known/openid-configuration`, issuer).href;

/** The innermost cause's message, on one line, with the HTTP status when the provider answered one. */
function reasonOf(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  const message = current instanceof Error ? current.message : String(current);
  const answered = error instanceof Error ? (error.cause as { status?: unknown } | undefined) : undefined;
  const status = typeof answered?.status === 'number' ? ` (HTTP ${String(answered.status)})` : '';
  return `${message.replaceAll(/\s+/g, ' ')}${status}`;
}

function isConnectionError(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if ('code' in current && typeof current.code === 'string' && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|UND_ERR_)/.test(current.code)) return true;
  }
  return false;
}

const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

const unreachable = (cause: unknown) =>
  new GatewayError('ERR_KEYS_UNAVAILABLE', 'The identity provider is unreachable; try again shortly.', { retryAfterS: 5, cause });

function tokensOf(response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): Omit<LoginTokens, 'claims'> {
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    idToken: response.id_token,
    accessExpiresAtMs: Date.now() + (response.expiresIn() ?? 300) * 1000,
  };
}

export function createOidcLogin(settings: SessionSettings, fetchImpl: typeof fetch): OidcLogin {
  const redirectUri = new URL('/bff/callback', settings.publicOrigin).href;
  let config: oidc.Configuration | undefined;
  let discovering: Promise<oidc.Configuration> | undefined;
  let keys: JWTVerifyGetKey | undefined;

  function configuration(): Promise<oidc.Configuration> {
    if (config) return Promise.resolve(config);
    discovering ??= oidc
      .discovery(settings.issuer, settings.clientId, settings.clientSecret, undefined, {
        [oidc.customFetch]: fetchImpl as oidc.CustomFetch,
        // Plain http is only accepted for loopback issuers (checked in config).
        execute: settings.issuer.protocol === 'http:' ? [oidc.allowInsecureRequests] : [],
      })
      .then((discovered) => {
        discovered[oidc.customFetch] = fetchImpl as oidc.CustomFetch;
        config = discovered;
        return discovered;
      })
      .finally(() => {
        discovering = undefined;
      });
    return discovering;
  }

  return {
    async warm() {
      await configuration().catch(() => undefined);
    },
    async discover() {
      let discovered: oidc.Configuration | undefined;
      for (let attempt = 1; !discovered; attempt++) {
        try {
          discovered = await configuration();
        } catch (error) {
          // Only "not reachable yet" is worth a second try (a provider started beside the gateway).
          if (attempt >= DISCOVERY_ATTEMPTS || error instanceof oidc.ResponseBodyError || !isConnectionError(error)) throw new Error(`discovery at ${discoveryUrl(settings.issuer)} failed: ${reasonOf(error)}`, { cause: error });
          await new Promise((resolve) => setTimeout(resolve, DISCOVERY_RETRY_MS));
        }
      }
      if (!discovered.serverMetadata().supportsPKCE('S256')) throw new Error(`the provider at ${settings.issuer.href} does not advertise PKCE S256 (code_challenge_methods_supported)`);
    },
    ready: () => config !== undefined,
    async start(returnTo) {
      const current = await configuration().catch((error: unknown) => {
        throw unreachable(error);
      });
      const pending: PendingLogin = { state: oidc.randomState(), codeVerifier: oidc.randomPKCECodeVerifier(), nonce: oidc.randomNonce(), returnTo, createdAtMs: Date.now() };
      const url = oidc.buildAuthorizationUrl(current, {
        redirect_uri: redirectUri,
        scope: settings.scopes,
        code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
        ...(settings.prompt ? { prompt: settings.prompt } : {}),
      });
      return { url, pending };
    },
    async finish(callbackUrl, pending) {
      const current = await configuration().catch((error: unknown) => {
        throw unreachable(error);
      });
      try {
        const response = await oidc.authorizationCodeGrant(current, callbackUrl, {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
        return { ...tokensOf(response), claims: { ...(response.claims() ?? {}), scope: response.scope } };
      } catch (error) {
        if (error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError || error instanceof TypeError) {
          throw new GatewayError('ERR_BAD_REQUEST', 'The login could not be completed: the identity provider refused the code or its answer did not check out.', { cause: error });
        }
        throw unreachable(error);
      }
    },
    async refresh(refreshToken) {
      const current = await configuration().catch((error: unknown) => {
        throw unreachable(error);
      });
      const response = await oidc.refreshTokenGrant(current, refreshToken);
      const claims = response.claims();
      return { ...tokensOf(response), refreshToken: response.refresh_token ?? refreshToken, claims: claims ? { ...claims, scope: response.scope } : undefined };
    },
    async verifyLogoutToken(token) {
      const current = await configuration().catch((error: unknown) => {
        throw unreachable(error);
      });
      const jwksUri = current.serverMetadata().jwks_uri;
      if (!jwksUri) throw unreachable(new Error('the provider publishes no jwks_uri'));
      keys ??= createRemoteJWKSet(new URL(jwksUri), { [joseCustomFetch]: fetchImpl });
      const invalid = (why: string) => new GatewayError('ERR_BAD_REQUEST', `The logout_token is not valid: ${why}.`);
      let payload;
      try {
        ({ payload } = await jwtVerify(token, keys, { issuer: current.serverMetadata().issuer, audience: settings.clientId, requiredClaims: ['iat'], maxTokenAge: '5 minutes' }));
      } catch (error) {
        throw invalid(error instanceof Error ? error.message : 'it does not verify');
      }
      const events = payload.events as Record<string, unknown> | undefined;
      if (typeof events !== 'object' || events === null || typeof events[BACKCHANNEL_EVENT] !== 'object') throw invalid('it has no back-channel logout event');
      if (payload.nonce !== undefined) throw invalid('it carries a nonce');
      const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
      const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
      if (sid === undefined && sub === undefined) throw invalid('it names neither sid nor sub');
      return { ...(sid ? { sid } : {}), ...(sub ? { sub } : {}) };
    },
    endSessionUrl(idToken) {
      if (!config?.serverMetadata().end_session_endpoint) return null;
      return oidc.buildEndSessionUrl(config, { ...(idToken ? { id_token_hint: idToken } : {}), post_logout_redirect_uri: settings.publicOrigin.href }).href;
    },
  };
}

/** The provider answered and said no (invalid_grant and the like), as opposed to not answering. */
export const refusedByProvider = (error: unknown) => error instanceof oidc.ResponseBodyError;
