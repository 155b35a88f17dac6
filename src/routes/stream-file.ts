// A file answer streamed to the caller: backpressure end to end, memory flat whatever its size,
// cut visibly when either side fails, and the bytes hashed for the audit record.
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { contextOf, type Egress } from '../http/context.ts';
import type { LiveStreams } from '../http/live-streams.ts';
import type { Metrics } from '../metrics.ts';
import type { UpstreamReply } from '../upstream/client.ts';

export interface StreamDeps {
  metrics: Metrics;
  liveStreams: LiveStreams;
  /** STREAM_IDLE_TIMEOUT_MS: no byte moved for this long, in either direction, cuts the download. */
  idleTimeoutMs: number;
}

/**
 * Pipes the file (a CSV export, a report file) through unchanged with backpressure end to end. If either side fails, pipeline
 * destroys both: the upstream request is aborted when the caller leaves, and the caller's
 * connection is cut (never ended cleanly) when the upstream fails mid-body or a drain runs out
 * of time. The bytes are hashed on the way for the audit record.
 */
export async function streamFile(reply: UpstreamReply, res: Response, file: { name: string; defaultType: string }, egress: Egress, deps: StreamDeps): Promise<void> {
  const context = contextOf(res);
  const contentType = reply.headers['content-type'];
  const contentLength = reply.headers['content-length'];
  res.status(200);
  res.setHeader('content-type', typeof contentType === 'string' ? contentType : file.defaultType);
  if (typeof contentLength === 'string') res.setHeader('content-length', contentLength);
  res.setHeader('content-disposition', `attachment; filename="${file.name}"`);
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
