import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../log.ts';

export interface TokenProviderOptions {
  tokenUrl: URL;
  clientId: string;
  clientSecret: string;
  dispatcher: Dispatcher;
  timeoutMs: number;
  logger: Logger;
  /** After a failed fetch, callers fail fast for this long instead of hammering the token endpoint. */
  failureCooldownMs?: number;
  now?: () => number;
}

export interface TokenStatus {
  ready: boolean;
  /** A token is held but the last refresh failed. */
  degraded: boolean;
  detail: string;
  fetches: number;
  failures: number;
  /** When the token in use was obtained (epoch ms); undefined while none is held. */
  obtainedAtMs: number | undefined;
}

/** The gateway's own SailPoint credential, shared by every call. */
export interface TokenProvider {
  get(): Promise<string>;
  /** Drops the token if it is still the current one (an upstream 401 said it is stale). */
  invalidate(token: string): void;
  status(): TokenStatus;
  close(): void;
}

interface Held {
  value: string;
  obtainedAtMs: number;
  /** Refresh in the background from here on. */
  refreshAtMs: number;
  /** Never send it after this: SailPoint would answer 401. */
  unusableAtMs: number;
}

// The lifetime differs per credential (749 s and 43 200 s have been seen), so the schedule is relative.
const REFRESH_AT_FRACTION = 0.8;
const EXPIRY_MARGIN_MS = 10_000;

export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  const now = options.now ?? Date.now;
  const failureCooldownMs = options.failureCooldownMs ?? 2000;
  let held: Held | null = null;
  let inflight: Promise<string> | null = null;
  let failedAtMs = Number.NEGATIVE_INFINITY;
  let lastError: string | null = null;
  let fetches = 0;
  let failures = 0;
  let refreshTimer: NodeJS.Timeout | undefined;

  const unavailable = () =>
    new GatewayError('ERR_UPSTREAM_CREDENTIAL', 'The SailPoint token endpoint is unavailable; try again shortly.', {
      retryAfterS: Math.max(1000, failureCooldownMs - (now() - failedAtMs)) / 1000,
    });

  async function fetchToken(): Promise<string> {
    fetches += 1;
    const startedAtMs = now();
    try {
      const form = new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: options.clientId,
        client_secret: options.clientSecret,
      });
      const response = await options.dispatcher.request({
        origin: options.tokenUrl.origin,
        path: options.tokenUrl.pathname + options.tokenUrl.search,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`token endpoint answered ${response.statusCode}`);
      const body = JSON.parse(text) as { access_token?: unknown; expires_in?: unknown };
      const expiresInS = Number(body.expires_in);
      if (typeof body.access_token !== 'string' || body.access_token === '' || !(expiresInS > 0)) {
        throw new Error('token endpoint answered without access_token and expires_in');
      }
      const lifetimeMs = expiresInS * 1000;
      held = {
        value: body.access_token,
        obtainedAtMs: startedAtMs,
        refreshAtMs: startedAtMs + lifetimeMs * REFRESH_AT_FRACTION,
        unusableAtMs: startedAtMs + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs * 0.1),
      };
      lastError = null;
      scheduleRefresh(held.refreshAtMs - now());
      options.logger.info({ expiresInS }, 'upstream credential obtained');
      return held.value;
    } catch (error) {
      failedAtMs = now();
      failures += 1;
      lastError = error instanceof Error ? error.message : String(error);
      options.logger.warn({ err: lastError }, 'upstream credential fetch failed');
      // A token still usable keeps serving while the endpoint is down.
      if (held && now() < held.unusableAtMs) {
        scheduleRefresh(failureCooldownMs);
        return held.value;
      }
      held = null;
      throw unavailable();
    }
  }

  function refresh(): Promise<string> {
    inflight ??= fetchToken().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  // A timer, not traffic, keeps the token fresh: an idle gateway stays warm and a readiness probe
  // never has to fetch one itself.
  function scheduleRefresh(delayMs: number): void {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void refresh().catch(() => {}), Math.max(0, delayMs));
    refreshTimer.unref();
  }

  return {
    async get() {
      const t = now();
      if (held && t < held.unusableAtMs) {
        if (t >= held.refreshAtMs) void refresh().catch(() => {});
        return held.value;
      }
      if (!inflight && t - failedAtMs < failureCooldownMs) throw unavailable();
      return refresh();
    },
    invalidate(token) {
      if (held?.value === token) held = null;
    },
    status() {
      const counts = { fetches, failures };
      if (held && now() < held.unusableAtMs) {
        const detail = lastError ? `token held; last refresh failed: ${lastError}` : 'token held';
        return { ready: true, degraded: lastError !== null, detail, ...counts, obtainedAtMs: held.obtainedAtMs };
      }
      return { ready: false, degraded: false, detail: lastError ?? 'no token yet', ...counts, obtainedAtMs: undefined };
    },
    close() {
      clearTimeout(refreshTimer);
    },
  };
}
