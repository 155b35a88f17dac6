import type { Response } from 'express';
import { contextOf } from '../http/context.ts';
import type { UpstreamCall } from '../upstream/client.ts';

/** What every upstream call carries from the request it is made for. */
export type OnBehalfOf = Pick<UpstreamCall, 'caller' | 'requestId' | 'signal' | 'log' | 'tally' | 'trace'>;

/** Aborts when the caller's connection closes before the answer is complete. */
function callerSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('caller went away'));
  });
  return controller.signal;
}

/** Whose budget a call spends: fairness is per subject. */
export const budgetHolderOf = (res: Response): string => contextOf(res).caller?.subject ?? 'anonymous';

/**
 * The request's side of an upstream call: whose budget it spends (fairness is per subject), the
 * ids and log it reports under, its tally for the access log and audit, and the signal that
 * cancels it when the caller goes away.
 */
export function onBehalfOf(res: Response): OnBehalfOf {
  const context = contextOf(res);
  return {
    caller: budgetHolderOf(res),
    requestId: context.requestId,
    signal: callerSignal(res),
    log: context.log,
    tally: context.upstream,
    trace: context.trace,
  };
}
