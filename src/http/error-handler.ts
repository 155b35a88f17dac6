import type { NextFunction, Request, Response } from 'express';
import { errorReply, NOT_FOUND, toGatewayError, type GatewayError } from '../errors.ts';
import { contextOf } from './context.ts';

/** The one place errors become HTTP answers; `extra` adds fields to the body (readiness checks). */
export function sendError(res: Response, error: GatewayError, extra: Record<string, unknown> = {}): void {
  const context = contextOf(res);
  context.answeredError = { code: error.code, message: error.message };
  const reply = errorReply(error, context.requestId);
  // Written directly, not with res.json, which parses and rebuilds the content type on every
  // call: 8 % of a 404's CPU in a flood.
  const body = JSON.stringify({ ...(reply.body as object), ...extra });
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

export function errorHandler(error: unknown, _req: Request, res: Response, _next: NextFunction): void {
  const context = contextOf(res);
  if (context.callerLeft) {
    // Nobody to answer, and nothing wrong with the gateway: a caller leaving is its own choice,
    // so it is no error-level line (any caller could raise error alerts at will otherwise).
    context.log.info({ reachedUpstream: context.upstream.reached }, 'caller left before the answer');
    return;
  }
  const gatewayError = toGatewayError(error);
  if (gatewayError.status >= 500) contextOf(res).log.error({ err: error, code: gatewayError.code }, 'gateway error answered');
  if (res.headersSent) {
    contextOf(res).answeredError = { code: gatewayError.code, message: gatewayError.message };
    // Too late for an error body: cut the connection so the failure cannot pass for a success.
    res.destroy(gatewayError);
    return;
  }
  sendError(res, gatewayError);
}

export function notFound(_req: Request, _res: Response, next: NextFunction): void {
  next(NOT_FOUND);
}
