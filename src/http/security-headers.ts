import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

// The strictest CSP: nothing the gateway answers is a page that loads anything (the sandbox's
// front-end sets its own).
const NO_CONTENT = { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } };

/**
 * What an API answer (JSON, CSV, an error) needs, after OWASP's REST Security Cheat Sheet: a CSP
 * and X-Frame-Options against framing, nosniff, HSTS, and CORP so another origin cannot embed it
 * as a resource. The others in helmet's defaults act on documents a browser navigates to
 * (openers, referrers, prefetching, downloads opened in place) and were a measured 7 % of a
 * small call (docs/PERFORMANCE.md), so they are kept for the routes that serve those.
 */
const API_ANSWER: HelmetOptions = {
  contentSecurityPolicy: NO_CONTENT,
  xFrameOptions: { action: 'deny' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/** Login, callback and logout redirects, and the front-end's pages: helmet's full set. */
const DOCUMENT: HelmetOptions = { contentSecurityPolicy: NO_CONTENT, xFrameOptions: { action: 'deny' } };

/** The headers helmet would set under these options, worked out once: they never vary per request. */
export function headersOf(options: HelmetOptions): ReadonlyMap<string, string> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  } as unknown as ServerResponse;
  helmet(options)({} as IncomingMessage, recorder, () => {});
  return headers;
}

// Set in one call per request: helmet's own middleware chain cost about 6 % of a small call.
function setting(headers: ReadonlyMap<string, string>) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.setHeaders(headers as Map<string, string>);
    next();
  };
}

export const API_ANSWER_HEADERS = headersOf(API_ANSWER);
export const DOCUMENT_HEADERS = headersOf(DOCUMENT);

/** Every answer's headers: mounted first on each app. */
export const apiAnswerHeaders = () => setting(API_ANSWER_HEADERS);
/** The rest of helmet's set, for the routes a browser navigates to. */
export const documentHeaders = () => setting(DOCUMENT_HEADERS);
