import type { Response } from 'express';

/** Aborts when the caller's connection closes before the answer is complete. */
export function callerSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('caller went away'));
  });
  return controller.signal;
}
