import type { Caller } from './verify-caller.ts';

// Verifying a signature costs far more than the rest of a request. A token that verified once is
// remembered (keyed by the whole token, so nothing can be forged into a hit) until it expires,
// like Envoy's JWT cache; at most MAX_AGE_MS, so a key withdrawn from the JWKS stops being
// trusted soon after.
const MAX_ENTRIES = 10_000;
const MAX_AGE_MS = 300_000;

export interface VerifiedCache {
  get(token: string): Caller | undefined;
  set(token: string, caller: Caller, expiresAtMs: number): void;
}

export function createVerifiedCache(now: () => number = Date.now): VerifiedCache {
  const entries = new Map<string, { caller: Caller; validUntilMs: number }>();
  return {
    get(token) {
      const entry = entries.get(token);
      if (entry === undefined) return undefined;
      if (entry.validUntilMs <= now()) {
        entries.delete(token);
        return undefined;
      }
      return entry.caller;
    },
    set(token, caller, expiresAtMs) {
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
      entries.set(token, { caller, validUntilMs: Math.min(expiresAtMs, now() + MAX_AGE_MS) });
    },
  };
}
