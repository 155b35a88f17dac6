import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { KeySource, KeySourceStatus } from './key-source.ts';

export interface JwksOptions {
  url: URL;
  /** Least time between two fetches: a flood of unknown kids causes at most one fetch per cooldown. */
  cooldownMs: number;
  /** Keys older than this are refreshed in the background; the old ones keep serving meanwhile. */
  maxAgeMs: number;
  timeoutMs: number;
  logger: Logger;
  now?: () => number;
}

type LocalSet = ReturnType<typeof createLocalJWKSet>;

/**
 * A JWKS cache that prefers serving over failing: keys already fetched keep verifying tokens
 * while the identity provider is down, and an unknown kid triggers at most one throttled refetch.
 */
export function jwksKeySource(options: JwksOptions): KeySource {
  const now = options.now ?? Date.now;
  let keys: LocalSet | null = null;
  let fetchedAt = 0;
  let lastAttemptAt = Number.NEGATIVE_INFINITY;
  let lastError: string | null = null;
  let inflight: Promise<void> | null = null;
  const refreshes = { ok: 0, failed: 0 };

  async function fetchKeys(): Promise<void> {
    lastAttemptAt = now();
    try {
      const response = await fetch(options.url, {
        signal: AbortSignal.timeout(options.timeoutMs),
        headers: { accept: 'application/json' },
        redirect: 'error',
      });
      if (!response.ok) throw new Error(`JWKS endpoint answered ${response.status}`);
      const body = (await response.json()) as JSONWebKeySet;
      if (!body || !Array.isArray(body.keys)) throw new Error('JWKS endpoint answered without a "keys" array');
      keys = createLocalJWKSet(body);
      fetchedAt = now();
      refreshes.ok += 1;
      lastError = null;
      options.logger.info({ keys: body.keys.length }, 'caller keys loaded from JWKS');
    } catch (error) {
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

  const coolingDown = () => now() - lastAttemptAt < options.cooldownMs;

  function unavailable(): GatewayError {
    const waitMs = Math.max(1000, options.cooldownMs - (now() - lastAttemptAt));
    return new GatewayError('ERR_KEYS_UNAVAILABLE', 'The identity provider is unreachable; caller tokens cannot be verified now.', {
      retryAfterS: waitMs / 1000,
    });
  }

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (keys === null) {
      if (!coolingDown() || inflight) await refresh();
      if (keys === null) throw unavailable();
    }
    if (now() - fetchedAt > options.maxAgeMs && !coolingDown()) void refresh();
    try {
      return await (keys as LocalSet)(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (coolingDown() && !inflight) {
        if (lastError !== null) throw unavailable();
        throw error;
      }
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
