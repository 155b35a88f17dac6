import type { RequestListener } from 'node:http';
import type { ErrorRequestHandler, Express, NextFunction, Request, RequestHandler, Response } from 'express';
import { NOT_FOUND } from '../errors.ts';

/** Express's rule for a path a router is mounted at (app.use(mount, ...)): the mount itself, or below it. */
export const isUnder = (path: string, mount: string): boolean => path === mount || path.startsWith(`${mount}/`);

export interface BehindFront {
  /** The Express app for the routes off the hot path, ending in its own 404 and error handler. */
  express: Express;
  /** Whether one of Express's routes may answer this path; it may say yes too often, never too rarely. */
  mayRoute: (path: string) => boolean;
  onError: ErrorRequestHandler;
}

/**
 * The middlewares every request passes and the served operations, run in order as a plain chain
 * in front of Express, with Express's own contract: each calls next() to go on or next(error) to
 * stop, and a throw counts as next(error). Express's app.handle and its router, walked by every
 * request, cost a 404 about a fifth of its CPU and a served call about 5 % (docs/PERFORMANCE.md). What
 * the chain does not answer goes to Express when one of its routes may be the path's, and is a
 * 404 otherwise: an unknown path never enters Express.
 */
export function frontChain(handlers: readonly RequestHandler[], behind: BehindFront): RequestListener {
  const { express, mayRoute, onError } = behind;
  return (incoming, response) => {
    // What app.handle does first, and a no-op for requests born with the app's prototypes
    // (createHttpServer's): Express's methods (req.path, res.status) live on them.
    if (Object.getPrototypeOf(incoming) !== express.request) Object.setPrototypeOf(incoming, express.request);
    if (Object.getPrototypeOf(response) !== express.response) Object.setPrototypeOf(response, express.response);
    const req = incoming as Request;
    const res = response as Response;
    // Also app.handle's: Express's answer methods (res.json, res.redirect) read the request.
    req.res = res;
    res.req = req;
    let index = 0;
    const next: NextFunction = (error?: unknown) => {
      // Express's rule too: a falsy value is no error.
      if (error) {
        onError(error, req, res, next);
        return;
      }
      const handler = handlers[index];
      index += 1;
      if (handler === undefined) {
        if (mayRoute(req.path)) express(req, res);
        else onError(NOT_FOUND, req, res, next);
        return;
      }
      try {
        void handler(req, res, next);
      } catch (thrown) {
        next(thrown);
      }
    };
    next();
  };
}
