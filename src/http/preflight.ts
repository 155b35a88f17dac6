import type { NextFunction, Request, Response } from 'express';
import { NOT_FOUND } from '../errors.ts';

/**
 * OPTIONS is a CORS preflight when CORS_ORIGINS allows the origin and the path is a route the
 * gateway serves, and 404 otherwise (the contract): never Express's own 200 with an Allow header,
 * which would tell a prober what exists.
 */
export function preflightOnly(origins: readonly string[], routes: readonly RegExp[]) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    const origin = req.headers.origin;
    const path = (req.url ?? '').split('?', 1)[0] as string;
    if (typeof origin === 'string' && origins.includes(origin) && routes.some((route) => route.test(path))) {
      next();
      return;
    }
    next(NOT_FOUND);
  };
}
