import { hash } from 'node:crypto';
import type { Caller } from './caller.ts';

// Verifying a signature costs far more than the rest of a request. A token that verified once is
// remembered until it expires, like Envoy's JWT cache; at most MAX_AGE_MS, so a key withdrawn from
// the JWKS stops being trusted soon after.
//
// Bounded in bytes, not entries: a caller can send many distinct large tokens (48 000 tokens of
// 15 KB took the gateway from 137 to 906 MiB when the whole token was the key). So the key is the
// token's SHA-256 (nothing can be forged into a hit, and 32 bytes whatever the token's size), the
// value only what verification produced, and the total is capped by an estimate of those bytes.
const MAX_AGE_MS = 300_000;
export const MAX_CACHE_BYTES = 16 * 1024 * 1024;
// A caller whose grants alone are this large is verified every time rather than crowd others out.
const MAX_ENTRY_BYTES = 64 * 1024;
// Map entry, key string, Caller object, two Sets: V8's overhead per entry, measured roughly.
const ENTRY_OVERHEAD_BYTES = 400;

export interface VerifiedCache {
  get(token: string): Caller | undefined;
  set(token: string, caller: Caller, expiresAtMs: number): void;
  /** The estimated bytes held and the number of entries, for tests and metrics. */
  usage(): { bytes: number; entries: number };
}

/** An estimate of what one entry holds: strings are counted at two bytes a character (the worst case). */
export function entryBytes(caller: Caller): number {
  let bytes = ENTRY_OVERHEAD_BYTES + caller.subject.length * 2;
  for (const set of [caller.grants.roles, caller.grants.scopes]) for (const name of set) bytes += 32 + name.length * 2;
  return bytes;
}

// The one-shot hash(): a Hash object per call was 2 % of a small call's CPU.
const keyOf = (token: string) => hash('sha256', token, 'base64url');

export function createVerifiedCache(now: () => number = Date.now, maxBytes = MAX_CACHE_BYTES): VerifiedCache {
  const entries = new Map<string, { caller: Caller; validUntilMs: number; bytes: number }>();
  let bytes = 0;
  const drop = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    bytes -= entry.bytes;
    entries.delete(key);
  };
  return {
    get(token) {
      const key = keyOf(token);
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      if (entry.validUntilMs <= now()) {
        drop(key);
        return undefined;
      }
      return entry.caller;
    },
    set(token, caller, expiresAtMs) {
      const size = entryBytes(caller);
      if (size > MAX_ENTRY_BYTES) return;
      const key = keyOf(token);
      drop(key);
      // Oldest first: Map keeps insertion order.
      while (bytes + size > maxBytes && entries.size > 0) drop(entries.keys().next().value as string);
      entries.set(key, { caller, validUntilMs: Math.min(expiresAtMs, now() + MAX_AGE_MS), bytes: size });
      bytes += size;
    },
    usage: () => ({ bytes, entries: entries.size }),
  };
}
