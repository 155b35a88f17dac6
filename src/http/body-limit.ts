import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../errors.ts';

/**
 * The routes take no body, so none is read: a request that declares more than maxBytes, or a
 * chunked one of unknown size, is refused before any work. The connection is then closed, because
 * the unread body would otherwise have to be drained to reach the next request on it.
 */
export function refuseBodies(maxBytes: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const declared = req.headers['content-length'];
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (chunked || (declared !== undefined && Number(declared) > maxBytes)) {
      res.setHeader('connection', 'close');
      next(new GatewayError('ERR_BODY_TOO_LARGE', `These routes take no request body (at most ${maxBytes} bytes are tolerated).`));
      return;
    }
    next();
  };
}
