import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Response } from 'express';
import type { Caller } from '../auth/verify-caller.ts';

/** What one request accumulates on its way through, for the access log and the audit trail. */
export interface RequestContext {
  requestId: string;
  route: string;
  caller: Caller | undefined;
  grant: string | undefined;
  trace: { attempts: number; queueWaitMs: number };
  bytes: number;
}

const CONTEXT = Symbol('gateway.context');
type WithContext = ServerResponse & { [CONTEXT]?: RequestContext };

// A caller's id is echoed and logged, so only short, plain values are trusted.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export function requestIdFor(req: IncomingMessage): string {
  const offered = req.headers['x-request-id'];
  if (typeof offered === 'string' && SANE_REQUEST_ID.test(offered)) return offered;
  return randomUUID().replaceAll('-', '');
}

/** Creates the context and answers X-Request-Id on every response, errors included. */
export function openContext(req: IncomingMessage, res: ServerResponse): string {
  const requestId = requestIdFor(req);
  res.setHeader('X-Request-Id', requestId);
  (res as WithContext)[CONTEXT] = { requestId, route: 'unmatched', caller: undefined, grant: undefined, trace: { attempts: 0, queueWaitMs: 0 }, bytes: 0 };
  return requestId;
}

export function contextOf(res: Response | ServerResponse): RequestContext {
  const context = (res as WithContext)[CONTEXT];
  if (!context) throw new Error('request context missing: openContext must run first');
  return context;
}
