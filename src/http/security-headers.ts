import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';

// An API answers JSON and CSV, never a page: the strictest CSP on top of helmet's defaults.
const HELMET_OPTIONS = { contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } };

/**
 * helmet decides which headers to send; with fixed options they are the same for every response,
 * so they are worked out once at start and set in one call per request (helmet's own middleware
 * chain cost about 6 % of a small call).
 */
export function securityHeaders() {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name, value),
    removeHeader: (name: string) => headers.delete(name),
  } as unknown as ServerResponse;
  helmet(HELMET_OPTIONS)({} as IncomingMessage, recorder, () => {});
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.setHeaders(headers);
    next();
  };
}
