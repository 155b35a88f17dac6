// A call made at most once per Idempotency-Key and caller (the contract's "Idempotent report
// starts"): the route's side of runOnce, which owns the rules.
import type { Response } from 'express';
import { errorReply, GatewayError } from '../errors.ts';
import { contextOf, type Egress } from '../http/context.ts';
import { runOnce } from '../idempotency/run-once.ts';
import type { IdempotencyStore, StoredResult } from '../idempotency/store.ts';

/**
 * What a repeat gets when the first call failed after it may have reached SailPoint: the same
 * error answer, or, when its caller left before any answer, a 502 saying the outcome is unknown.
 * Never a second report.
 */
function replayOfFailure(error: unknown, requestId: string): StoredResult {
  const failure =
    error instanceof GatewayError
      ? error
      : new GatewayError(
          'ERR_UPSTREAM_FAILED',
          "The first request with this Idempotency-Key reached SailPoint, but its caller left before the answer; whether the report started is unknown. Check the campaign's reports before starting another.",
        );
  const reply = errorReply(failure, requestId);
  return { status: reply.status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(reply.body) };
}

export async function runIdempotent(
  res: Response,
  request: { store: IdempotencyStore; caller: string; key: string; fingerprint: string; waitMs: number; signal: AbortSignal },
  work: () => Promise<StoredResult>,
): Promise<StoredResult> {
  const context = contextOf(res);
  // Keys are per caller: one caller can never read another's result by guessing its key.
  const { result, replayed } = await runOnce(
    request.store,
    {
      caller: request.caller,
      key: request.key,
      fingerprint: request.fingerprint,
      waitMs: request.waitMs,
      signal: request.signal,
      startedNothing: () => !context.upstream.mayHaveActed,
      replayOf: (error) => replayOfFailure(error, context.requestId),
    },
    work,
  );
  if (replayed) {
    (context.egress as Egress).replayed = true;
    res.setHeader('idempotent-replayed', 'true');
  }
  return result;
}
