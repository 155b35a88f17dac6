import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError } from '../errors.ts';
import type { IdempotencyStore, StoredResult } from './store.ts';

// A printable ASCII token, as the IETF Idempotency-Key draft and Stripe use.
const KEY = /^[\x21-\x7e]{1,255}$/;
const POLL_MS = 100;

export function validIdempotencyKey(raw: string | string[] | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !KEY.test(raw)) {
    throw new GatewayError('ERR_BAD_REQUEST', 'Idempotency-Key must be 1 to 255 printable ASCII characters.');
  }
  return raw;
}

/** Only answers that describe the request are replayed; a failure worth retrying frees the key. */
const replayable = (result: StoredResult) => result.status < 500 && result.status !== 429;

/**
 * Runs `work` once per key: a repeat gets the stored result; a repeat that arrives while the first
 * is still running waits for it (up to waitMs).
 */
export async function runOnce(
  store: IdempotencyStore,
  request: { key: string; fingerprint: string; waitMs: number; signal: AbortSignal },
  work: () => Promise<StoredResult>,
): Promise<{ result: StoredResult; replayed: boolean }> {
  const giveUpAt = Date.now() + request.waitMs;
  for (;;) {
    const claim = await store.claim(request.key, request.fingerprint);
    if (claim.state === 'mismatch') {
      throw new GatewayError('ERR_BAD_REQUEST', 'This Idempotency-Key was already used for a different request.');
    }
    if (claim.state === 'done') return { result: claim.result, replayed: true };
    if (claim.state === 'new') {
      let result: StoredResult;
      try {
        result = await work();
      } catch (error) {
        await store.abandon(request.key);
        throw error;
      }
      if (replayable(result)) await store.complete(request.key, result);
      else await store.abandon(request.key);
      return { result, replayed: false };
    }
    if (Date.now() >= giveUpAt) {
      throw new GatewayError('ERR_NOT_READY', 'A request with this Idempotency-Key is still in progress.', { retryAfterS: 1 });
    }
    await sleep(POLL_MS, undefined, { signal: request.signal });
  }
}
