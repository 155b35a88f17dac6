import type { NextFunction, Request, Response } from 'express';
import { writeLineAs, type Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import { openContext } from './context.ts';

/**
 * One JSON line per request, written when the response finishes or the connection closes.
 * Headers are never serialised (they carry tokens and cookies), and the path is logged without
 * its query string. (pino-http did the same job at several times the cost per request.)
 */
export function accessLog(logger: Logger, metrics: Metrics) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const startedAt = performance.now();
    const context = openContext(req, res, logger);
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      if (!res.writableFinished) context.callerLeft = true;
      const status = res.statusCode;
      const durationMs = performance.now() - startedAt;
      metrics.requests.inc({ route: context.route, status });
      metrics.requestSeconds.observe({ route: context.route }, durationMs / 1000);
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      writeLineAs(
        logger,
        level,
        {
          requestId: context.requestId,
          method: req.method,
          path: (req.url ?? '').split('?', 1)[0],
          route: context.route,
          status,
          durationMs: Math.round(durationMs * 100) / 100,
          subject: context.caller?.subject,
          grant: context.grant,
          traceId: context.trace.traceId,
          upstreamAttempts: context.upstream.attempts,
          upstreamStatus: context.upstream.status,
          queueWaitMs: context.upstream.queueWaitMs,
          bytes: context.bytes,
          completed: res.writableFinished,
          error: context.answeredError?.message,
        },
        'request completed',
      );
    };
    res.once('finish', done);
    res.once('close', done);
    next();
  };
}
