import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, type JWTVerifyGetKey } from 'jose';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { KeySource, KeySourceStatus } from './key-source.ts';

export interface JwksOptions {
  url: URL;
  /** Least time between two refetches for an unknown kid: a flood of random kids causes at most one per cooldown. */
  cooldownMs: number;
  /** Keys older than this are refreshed in the background; the old ones keep serving meanwhile. */
  maxAgeMs: number;
  timeoutMs: number;
  logger: Logger;
  /** How the JWKS is fetched: through the gateway's egress (HTTPS_PROXY), like every outbound call. */
  fetch: typeof fetch;
  now?: () => number;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

/**
 * A JWKS cache that prefers serving over failing. jose's remote key set fetches and validates the
 * key set (`reload()`); what it decides by itself is not used, because its cool-down runs from
 * any fetch, start-up included, and its stale-cache reload blocks a request and fails it when the
 * provider is down. Here instead:
 * - a token whose kid is unknown triggers a refetch unless the last *unknown-kid* refetch is
 *   younger than the cooldown, so the first token signed by a newly published key is accepted at
 *   once, and a flood of random kids still costs at most one fetch per cooldown;
 * - keys past their age are refreshed in the background, never in a request's way;
 * - keys already fetched keep verifying while the provider is down.
 */
export function jwksKeySource(options: JwksOptions): KeySource {
  const now = options.now ?? Date.now;
  const remote = createRemoteJWKSet(options.url, {
    timeoutDuration: options.timeoutMs,
    cacheMaxAge: options.maxAgeMs,
    headers: { accept: 'application/json, application/jwk-set+json' },
    [customFetch]: options.fetch,
  });
  let keys: LocalSet | null = null;
  let fetchedAt = 0;
  let lastFailureAt = Number.NEGATIVE_INFINITY;
  let lastUnknownKidFetchAt = Number.NEGATIVE_INFINITY;
  let lastError: string | null = null;
  let inflight: Promise<void> | null = null;
  const refreshes = { ok: 0, failed: 0 };

  async function fetchKeys(): Promise<void> {
    try {
      await remote.reload();
      const set = remote.jwks();
      if (!set) throw new Error('JWKS endpoint answered without keys');
      keys = createLocalJWKSet(set);
      fetchedAt = now();
      refreshes.ok += 1;
      lastError = null;
      options.logger.info({ keys: set.keys.length }, 'caller keys loaded from JWKS');
    } catch (error) {
      lastFailureAt = now();
      refreshes.failed += 1;
      lastError = error instanceof Error ? error.message : String(error);
      options.logger.warn({ err: lastError }, 'JWKS fetch failed; keys already loaded keep working');
    }
  }

  function refresh(): Promise<void> {
    inflight ??= fetchKeys().finally(() => {
      inflight = null;
    });
    return inflight;
  }

  const since = (at: number) => now() - at;

  function unavailable(): GatewayError {
    const waitMs = Math.max(1000, options.cooldownMs - since(lastFailureAt));
    return new GatewayError('ERR_KEYS_UNAVAILABLE', 'The identity provider is unreachable; caller tokens cannot be verified now.', {
      retryAfterS: waitMs / 1000,
    });
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (keys === null) {
      // No keys at all: a failed fetch is retried at most once per cooldown, or joined if running.
      if (inflight || since(lastFailureAt) >= options.cooldownMs) await refresh();
      if (keys === null) throw unavailable();
    }
    if (!remote.fresh && !inflight && since(lastFailureAt) >= options.cooldownMs) void refresh();
    try {
      return await (keys as LocalSet)(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (inflight) {
        // A refresh already running may bring the key: wait for it rather than fetch again.
        await refresh();
        try {
          return await (keys as LocalSet)(header, token);
        } catch (again) {
          if (!(again instanceof errors.JWKSNoMatchingKey)) throw again;
        }
      }
      if (since(lastUnknownKidFetchAt) < options.cooldownMs) {
        if (lastError !== null) throw unavailable();
        throw error;
      }
      lastUnknownKidFetchAt = now();
      await refresh();
      if (lastError !== null) throw unavailable();
      return (keys as LocalSet)(header, token);
    }
  };

  return {
    getKey,
    warm: async () => {
      if (keys === null) await refresh();
    },
    status: (): KeySourceStatus =>
      keys !== null
        ? { ready: true, degraded: lastError !== null, detail: lastError ? `keys loaded; last refresh failed: ${lastError}` : 'keys loaded', refreshes: { ...refreshes }, loadedAtMs: fetchedAt }
        : { ready: false, degraded: false, detail: lastError ?? 'keys not loaded yet', refreshes: { ...refreshes }, loadedAtMs: undefined },
  };
}
