import type { Hash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Response } from 'express';
import type { Caller } from '../auth/caller.ts';
import type { ErrorCode } from '../errors.ts';
import type { OperationName } from '../operations/table.ts';
import type { Logger } from '../log.ts';
import { traceContextFor, type TraceContext } from './trace-context.ts';
import { randomHex } from './random-hex.ts';

type LogMethod = (fields: Record<string, unknown> | string, message?: string) => void;

/** Logs about one request: every line carries its request id. */
export interface RequestLog {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

/** What the upstream calls of one request added up to, also when they failed. */
export interface UpstreamTally {
  attempts: number;
  queueWaitMs: number;
  /** The status of the last upstream answer; undefined when none arrived. */
  status: number | undefined;
  /**
   * Whether SailPoint may have acted on an attempt: false while every attempt certainly did
   * nothing (never sent, or declined with 429 or 503). A report start that may have acted keeps
   * its Idempotency-Key.
   */
  mayHaveActed: boolean;
  /** Whether an attempt was sent to SailPoint: false only while none was, or each certainly failed to connect. */
  reached: boolean;
}

/** What one request accumulates on its way through, for the access log and the audit trail. */
export interface RequestContext {
  requestId: string;
  trace: TraceContext;
  route: string;
  caller: Caller | undefined;
  grant: string | undefined;
  /** Set by a route that may reach SailPoint: the request then gets an audit record. */
  egress: Egress | undefined;
  upstream: UpstreamTally;
  /** The error the gateway answered with, when it answered one of its own. */
  answeredError: { code: ErrorCode; message: string } | undefined;
  bytes: number;
  /** The caller's connection closed before the whole answer was written. */
  callerLeft: boolean;
  log: RequestLog;
}

/**
 * Why a stream ended before its last byte, in the words of the audit trail and the streams-cut
 * metric: the caller left, stopped reading (for STREAM_IDLE_TIMEOUT_MS), the upstream failed, or
 * a drain ran out of time.
 */
export type StreamCut = 'caller_aborted' | 'caller_stalled' | 'upstream_failed' | 'drain';

export interface Egress {
  operation: OperationName;
  /** The ids named in the path, as received (already checked to be sane before they are kept). */
  target: Record<string, string>;
  /** SHA-256 of the bytes forwarded to the caller, for a streamed export. */
  digest: Hash | undefined;
  /** Why a stream ended before its last byte, when it did. */
  cut: StreamCut | undefined;
  /** The answer was replayed from an earlier call with the same Idempotency-Key. */
  replayed: boolean;
}

const CONTEXT = Symbol('gateway.context');
type WithContext = ServerResponse & { [CONTEXT]?: RequestContext };

// A caller's id is echoed and logged, so only short, plain values are trusted.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** A fresh request id: 32 hex characters. */
export const newRequestId = (): string => randomHex(16);

function requestIdFor(req: IncomingMessage): string {
  const offered = req.headers['x-request-id'];
  if (typeof offered === 'string' && SANE_REQUEST_ID.test(offered)) return offered;
  return newRequestId();
}

// Not a pino child per request: building one costs more than most requests ever log. One small
// object whose methods live on the prototype, not four closures per request.
class BoundRequestLog implements RequestLog {
  private readonly logger: Logger;
  private readonly requestId: string;
  private readonly traceId: string;
  constructor(logger: Logger, requestId: string, traceId: string) {
    this.logger = logger;
    this.requestId = requestId;
    this.traceId = traceId;
  }
  private write(level: 'debug' | 'info' | 'warn' | 'error', fields: Record<string, unknown> | string, message?: string): void {
    if (!this.logger.isLevelEnabled(level)) return;
    if (typeof fields === 'string') this.logger[level]({ requestId: this.requestId, traceId: this.traceId }, fields);
    else this.logger[level]({ requestId: this.requestId, traceId: this.traceId, ...fields }, message);
  }
  debug(fields: Record<string, unknown> | string, message?: string): void {
    this.write('debug', fields, message);
  }
  info(fields: Record<string, unknown> | string, message?: string): void {
    this.write('info', fields, message);
  }
  warn(fields: Record<string, unknown> | string, message?: string): void {
    this.write('warn', fields, message);
  }
  error(fields: Record<string, unknown> | string, message?: string): void {
    this.write('error', fields, message);
  }
}

/** Creates the context and answers X-Request-Id on every response, errors included. */
export function openContext(req: IncomingMessage, res: ServerResponse, logger: Logger): RequestContext {
  const requestId = requestIdFor(req);
  res.setHeader('X-Request-Id', requestId);
  const trace = traceContextFor(req.headers);
  const context: RequestContext = {
    requestId,
    trace,
    route: 'unmatched',
    caller: undefined,
    grant: undefined,
    egress: undefined,
    upstream: { attempts: 0, queueWaitMs: 0, status: undefined, mayHaveActed: false, reached: false },
    answeredError: undefined,
    bytes: 0,
    callerLeft: false,
    log: new BoundRequestLog(logger, requestId, trace.traceId),
  };
  (res as WithContext)[CONTEXT] = context;
  return context;
}

export function contextOf(res: Response | ServerResponse): RequestContext {
  const context = (res as WithContext)[CONTEXT];
  if (!context) throw new Error('request context missing: openContext must run first');
  return context;
}
