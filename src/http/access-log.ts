import type { IncomingMessage, ServerResponse } from 'node:http';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../log.ts';
import { contextOf, openContext } from './context.ts';

/**
 * One JSON line per request. Headers are never serialised (they carry tokens and cookies), and the
 * URL is logged without its query string.
 */
export function accessLog(logger: Logger) {
  const line = (req: IncomingMessage, res: ServerResponse, responseTime: number) => {
    const context = contextOf(res);
    return {
      method: req.method,
      path: (req.url ?? '').split('?', 1)[0],
      route: context.route,
      status: res.statusCode,
      durationMs: responseTime,
      subject: context.caller?.subject,
      grant: context.grant,
      upstreamAttempts: context.trace.attempts,
      queueWaitMs: context.trace.queueWaitMs,
      bytes: context.bytes,
      completed: res.writableFinished,
    };
  };
  return pinoHttp({
    logger,
    genReqId: (req, res) => openContext(req, res),
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId' },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request completed',
    customSuccessObject: (req, res, value: { responseTime: number }) => line(req, res, value.responseTime),
    customErrorObject: (req, res, error, value: { responseTime: number }) => ({
      ...line(req, res, value.responseTime),
      err: error instanceof Error ? { type: error.name, message: error.message } : undefined,
    }),
  });
}
