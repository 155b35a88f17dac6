import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Response } from 'express';
import type { Caller } from '../auth/verify-caller.ts';
import type { Logger } from '../log.ts';

type LogMethod = (fields: Record<string, unknown> | string, message?: string) => void;

/** Logs about one request: every line carries its request id. */
export interface RequestLog {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** What one request accumulates on its way through, for the access log and the audit trail. */
export interface RequestContext {
  requestId: string;
  route: string;
  caller: Caller | undefined;
  grant: string | undefined;
  trace: { attempts: number; queueWaitMs: number };
  bytes: number;
  log: RequestLog;
}

const CONTEXT = Symbol('gateway.context');
type WithContext = ServerResponse & { [CONTEXT]?: RequestContext };

// A caller's id is echoed and logged, so only short, plain values are trusted.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

function requestIdFor(req: IncomingMessage): string {
  const offered = req.headers['x-request-id'];
  if (typeof offered === 'string' && SANE_REQUEST_ID.test(offered)) return offered;
  return randomUUID().replaceAll('-', '');
}

// Not a pino child per request: building one costs more than most requests ever log.
function requestLog(logger: Logger, requestId: string): RequestLog {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error'): LogMethod =>
    (fields, message) => {
      if (!logger.isLevelEnabled(level)) return;
      if (typeof fields === 'string') logger[level]({ requestId }, fields);
      else logger[level]({ requestId, ...fields }, message);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Creates the context and answers X-Request-Id on every response, errors included. */
export function openContext(req: IncomingMessage, res: ServerResponse, logger: Logger): RequestContext {
  const requestId = requestIdFor(req);
  res.setHeader('X-Request-Id', requestId);
  let log: RequestLog | undefined;
  const context: RequestContext = {
    requestId,
    route: 'unmatched',
    caller: undefined,
    grant: undefined,
    trace: { attempts: 0, queueWaitMs: 0 },
    bytes: 0,
    get log() {
      log ??= requestLog(logger, requestId);
      return log;
    },
  };
  (res as WithContext)[CONTEXT] = context;
  return context;
}

export function contextOf(res: Response | ServerResponse): RequestContext {
  const context = (res as WithContext)[CONTEXT];
  if (!context) throw new Error('request context missing: openContext must run first');
  return context;
}
