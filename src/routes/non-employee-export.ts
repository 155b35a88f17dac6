import { pipeline } from 'node:stream/promises';
import { Router, type Response } from 'express';
import type { CallerVerifier } from '../auth/verify-caller.ts';
import { requireGrant } from '../auth/require-grant.ts';
import { contextOf } from '../http/context.ts';
import type { Metrics } from '../metrics.ts';
import type { UpstreamClient, UpstreamReply } from '../upstream/client.ts';
import { callerSignal } from './caller-signal.ts';
import { validId } from './params.ts';
import { relayBuffered } from './relay.ts';

const ROUTE = /^\/v3\/non-employee-sources\/([^/]*)\/non-employees\/download$/;

/**
 * Pipes the CSV through unchanged with backpressure end to end. If either side fails, pipeline
 * destroys both: the upstream request is aborted when the caller leaves, and the caller's
 * connection is cut (never ended cleanly) when the upstream fails mid-body.
 */
async function streamCsv(reply: UpstreamReply, res: Response, sourceId: string, metrics: Metrics): Promise<void> {
  const context = contextOf(res);
  const contentType = reply.headers['content-type'];
  const contentLength = reply.headers['content-length'];
  res.status(200);
  res.setHeader('content-type', typeof contentType === 'string' ? contentType : 'text/csv');
  if (typeof contentLength === 'string') res.setHeader('content-length', contentLength);
  res.setHeader('content-disposition', `attachment; filename="non-employees-${sourceId}.csv"`);
  res.setHeader('cache-control', 'no-store');
  reply.body.on('data', (chunk: Buffer) => {
    context.bytes += chunk.length;
  });
  // Either side failing takes the other down with it; whichever failed first is the cause.
  let firstFailure: 'caller' | 'upstream' | undefined;
  res.once('close', () => {
    if (!res.writableFinished) firstFailure ??= 'caller';
  });
  reply.body.once('error', () => {
    firstFailure ??= 'upstream';
  });
  try {
    await pipeline(reply.body, res);
    metrics.bytesStreamed.inc(context.bytes);
  } catch (error) {
    const callerLeft = firstFailure === 'caller';
    metrics.bytesStreamed.inc(context.bytes);
    metrics.streamsCut.inc({ cause: callerLeft ? 'caller_went_away' : 'upstream_failed' });
    context.log.warn(
      { bytes: context.bytes, cause: callerLeft ? 'caller_went_away' : 'upstream_failed', err: (error as Error).message },
      'CSV stream cut short',
    );
    res.destroy();
  }
}

export function nonEmployeeExportRoutes(deps: { verifier: CallerVerifier; upstream: UpstreamClient; anyOf: string[]; metrics: Metrics }): Router {
  const router = Router({ caseSensitive: true, strict: true });
  // Express answers HEAD with the GET handler; a HEAD must not pull a whole export from SailPoint.
  router.head(ROUTE, (_req, _res, next) => next('router'));
  router.get(
    ROUTE,
    (_req, res, next) => {
      contextOf(res).route = 'GET /v3/non-employee-sources/{id}/non-employees/download';
      next();
    },
    requireGrant(deps.verifier, deps.anyOf),
    async (req, res) => {
      const params = req.params as unknown as Record<string, string | undefined>;
      const id = validId(params[0], 'source');
      const context = contextOf(res);
      const signal = callerSignal(res);
      const reply = await deps.upstream.send({
        operation: 'exportNonEmployeeRecords',
        method: 'GET',
        path: `/v3/non-employee-sources/${id}/non-employees/download`,
        accept: 'text/csv, application/json;q=0.5',
        repeatability: 'repeatable',
        callClass: 'export',
        caller: context.caller?.subject ?? 'anonymous',
        requestId: context.requestId,
        signal,
        log: context.log,
        trace: context.trace,
      });
      if (reply.statusCode === 200) await streamCsv(reply, res, id, deps.metrics);
      else await relayBuffered(reply, res);
    },
  );
  return router;
}
