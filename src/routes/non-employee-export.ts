import { pipeline } from 'node:stream/promises';
import { Router, type Response } from 'express';
import type { CallerVerifier } from '../auth/verify-caller.ts';
import type { Grant } from '../auth/grants.ts';
import { requireGrant } from '../auth/require-grant.ts';
import { createHash } from 'node:crypto';
import type { AuditTrail } from '../audit/trail.ts';
import { contextOf, type Egress } from '../http/context.ts';
import type { LiveStreams } from '../http/live-streams.ts';
import type { Metrics } from '../metrics.ts';
import type { UpstreamClient, UpstreamReply } from '../upstream/client.ts';
import { onBehalfOf } from './on-behalf-of.ts';
import { validId } from './params.ts';
import { relayBuffered } from './relay.ts';

export const EXPORT_ROUTE = /^\/v3\/non-employee-sources\/([^/]*)\/non-employees\/download$/;

export interface ExportDeps {
  verifier: CallerVerifier;
  upstream: UpstreamClient;
  anyOf: Grant[];
  metrics: Metrics;
  audit: AuditTrail;
  liveStreams: LiveStreams;
  /** STREAM_IDLE_TIMEOUT_MS: no byte moved for this long, in either direction, cuts the download. */
  idleTimeoutMs: number;
}

/**
 * Pipes the CSV through unchanged with backpressure end to end. If either side fails, pipeline
 * destroys both: the upstream request is aborted when the caller leaves, and the caller's
 * connection is cut (never ended cleanly) when the upstream fails mid-body or a drain runs out
 * of time. The bytes are hashed on the way for the audit record.
 */
async function streamCsv(reply: UpstreamReply, res: Response, sourceId: string, egress: Egress, deps: ExportDeps): Promise<void> {
  const context = contextOf(res);
  const contentType = reply.headers['content-type'];
  const contentLength = reply.headers['content-length'];
  res.status(200);
  res.setHeader('content-type', typeof contentType === 'string' ? contentType : 'text/csv');
  if (typeof contentLength === 'string') res.setHeader('content-length', contentLength);
  res.setHeader('content-disposition', `attachment; filename="non-employees-${sourceId}.csv"`);
  res.setHeader('cache-control', 'no-store');
  const digest = createHash('sha256');
  egress.digest = digest;
  // The idle timeout looks both ways. An upstream that stops sending trips undici's body timeout;
  // a caller that stops reading stalls the pipe instead (backpressure pauses the upstream body, so
  // that timer never fires), and it would hold its export slot and an upstream connection for as
  // long as it liked. Every chunk that moves resets this watch; when it fires with the caller's
  // side still full, the caller is cut, which aborts the upstream request and frees the slot.
  const idle = setTimeout(function watch() {
    if (!res.writableNeedDrain) {
      idle.refresh();
      return;
    }
    egress.cut ??= 'caller_stalled';
    res.destroy();
  }, deps.idleTimeoutMs);
  idle.unref();
  reply.body.on('data', (chunk: Buffer) => {
    context.bytes += chunk.length;
    digest.update(chunk);
    idle.refresh();
  });
  // Whichever side failed first is the cause; these run before pipeline tears the other side down.
  reply.body.once('error', () => {
    egress.cut ??= 'upstream_failed';
  });
  res.once('close', () => {
    if (!res.writableFinished) egress.cut ??= 'caller_aborted';
  });
  const untrack = deps.liveStreams.track((cause) => {
    egress.cut ??= cause;
    res.destroy();
  });
  // Eleven 'close' listeners is this design, not a leak: the access log, the audit record, the
  // caller's abort signal and the cut cause above each watch the response, and pipeline() adds
  // seven of its own. Node warns past ten.
  res.setMaxListeners(16);
  try {
    await pipeline(reply.body, res);
  } catch (error) {
    const cause = egress.cut ?? 'upstream_failed';
    deps.metrics.streamsCut.inc({ cause });
    context.log.warn({ bytes: context.bytes, cause, err: (error as Error).message }, 'CSV stream cut short');
    res.destroy();
  } finally {
    clearTimeout(idle);
    untrack();
    deps.metrics.bytesStreamed.inc(context.bytes);
  }
}

export function nonEmployeeExportRoutes(deps: ExportDeps): Router {
  const router = Router({ caseSensitive: true, strict: true });
  // Express answers HEAD with the GET handler; a HEAD must not pull a whole export from SailPoint.
  router.head(EXPORT_ROUTE, (_req, _res, next) => next('router'));
  router.get(
    EXPORT_ROUTE,
    (_req, res, next) => {
      contextOf(res).route = 'GET /v3/non-employee-sources/{id}/non-employees/download';
      deps.audit(res, 'exportNonEmployeeRecords');
      next();
    },
    requireGrant(deps.verifier, deps.anyOf),
    async (req, res) => {
      const params = req.params as unknown as Record<string, string | undefined>;
      const id = validId(params[0], 'source');
      const context = contextOf(res);
      const egress = context.egress as Egress;
      egress.target = { sourceId: id };
      const requester = onBehalfOf(res);
      const reply = await deps.upstream.send({
        operation: 'exportNonEmployeeRecords',
        method: 'GET',
        path: `/v3/non-employee-sources/${id}/non-employees/download`,
        accept: 'text/csv, application/json;q=0.5',
        repeatability: 'repeatable',
        callClass: 'export',
        ...requester,
      });
      if (reply.statusCode === 200) await streamCsv(reply, res, id, egress, deps);
      else await relayBuffered(reply, res);
    },
  );
  return router;
}
