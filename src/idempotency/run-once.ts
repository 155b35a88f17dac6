import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayError } from '../errors.ts';
import type { IdempotencyStore, KeyRef, StoredResult } from './store.ts';

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

export interface OnceRequest extends KeyRef {
  fingerprint: string;
  /** How long a repeat waits for a first call with the same key that is still running. */
  waitMs: number;
  signal: AbortSignal;
  /** Asked once the first call is over: true only if it certainly started nothing upstream. */
  startedNothing(): boolean;
  /** The answer a repeat gets when the first call failed after it may have started something. */
  replayOf(error: unknown): StoredResult;
}

/**
 * Runs `work` once per key: a repeat gets the stored result; a repeat that arrives while the first
 * is still running waits for it (up to waitMs). Only a first call that certainly started nothing
 * (never sent, refused by the gateway, declined by SailPoint with 429 or 503) frees its key; any
 * other outcome, an unknown one included, is kept and answered again, so a retry can never start
 * a second report.
 */
export async function runOnce(
  store: IdempotencyStore,
  request: OnceRequest,
  work: () => Promise<StoredResult>,
): Promise<{ result: StoredResult; replayed: boolean }> {
  const ref: KeyRef = { caller: request.caller, key: request.key };
  const giveUpAt = Date.now() + request.waitMs;
  for (;;) {
    const claim = await store.claim(ref, request.fingerprint);
    if (claim.state === 'mismatch') {
      throw new GatewayError('ERR_BAD_REQUEST', 'This Idempotency-Key was already used for a different request.');
    }
    if (claim.state === 'full') {
      throw new GatewayError('ERR_RATE_LIMITED', 'Too many of your Idempotency-Keys are in use; try again when the oldest expires.', {
        retryAfterS: claim.retryInMs / 1000,
      });
    }
    if (claim.state === 'done') return { result: claim.result, replayed: true };
    if (claim.state === 'new') {
      let result: StoredResult;
      try {
        result = await work();
      } catch (error) {
        if (request.startedNothing()) await store.abandon(ref);
        else await store.complete(ref, request.replayOf(error));
        throw error;
      }
      if (request.startedNothing()) await store.abandon(ref);
      else await store.complete(ref, result);
      return { result, replayed: false };
    }
    if (Date.now() >= giveUpAt) {
      throw new GatewayError('ERR_NOT_READY', 'A request with this Idempotency-Key is still in progress.', { retryAfterS: 1 });
    }
    await sleep(POLL_MS, undefined, { signal: request.signal });
  }
}
