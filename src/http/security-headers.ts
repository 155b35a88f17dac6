import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * Login, callback and logout redirects, and the front-end's pages: helmet's full set, with the
 * strictest CSP (nothing the gateway answers is a page that loads anything; the sandbox's
 * front-end sets its own) and framing denied outright, as frame-ancestors 'none' says.
 */
const DOCUMENT = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  xFrameOptions: { action: 'deny' },
} satisfies HelmetOptions;

/**
 * What an API answer (JSON, CSV, an error) needs, after OWASP's REST Security Cheat Sheet: a CSP
 * and X-Frame-Options against framing, nosniff, HSTS, and CORP so another origin cannot embed it
 * as a resource. The others act on documents a browser navigates to (openers, referrers,
 * prefetching, downloads opened in place) and were a measured 7 % of a small call
 * (docs/PERFORMANCE.md), so only the routes that serve documents send them.
 */
const API_ANSWER: HelmetOptions = {
  ...DOCUMENT,
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  referrerPolicy: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/** The headers helmet would set under these options, worked out once: they never vary per request. */
function headersOf(options: HelmetOptions): Map<string, string> {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string) => headers.set(name.toLowerCase(), value),
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  } as unknown as ServerResponse;
  helmet(options)({} as IncomingMessage, recorder, () => {});
  return headers;
}

const API_ANSWER_HEADERS = headersOf(API_ANSWER);
// Every answer already carries the API set (mounted first): a document adds only the rest.
const DOCUMENT_ONLY_HEADERS = new Map([...headersOf(DOCUMENT)].filter(([name, value]) => API_ANSWER_HEADERS.get(name) !== value));

// Set in one call per request: helmet's own middleware chain cost about 6 % of a small call.
function setting(headers: Map<string, string>) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    res.setHeaders(headers);
    next();
  };
}

/** Every answer's headers: mounted first on each app. */
export const apiAnswerHeaders = () => setting(API_ANSWER_HEADERS);
/** The rest of helmet's set, for the routes a browser navigates to. */
export const documentHeaders = () => setting(DOCUMENT_ONLY_HEADERS);
