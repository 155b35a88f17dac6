import type { NextFunction, Request, Response } from 'express';
import { GatewayError } from '../errors.ts';

/**
 * The routes take no body, but clients send empty or tiny ones (an empty chunked POST is common),
 * so a body is judged by its real size, not its framing. One that declares more than maxBytes is
 * refused before any work; a chunked one is read up to maxBytes and thrown away, or refused as soon
 * as it passes that. A refusal closes the connection: the unread rest of the body would otherwise
 * have to be drained to reach the next request on it.
 */
export function refuseBodies(maxBytes: number, readOwnBody: readonly string[] = []) {
  const tooLarge = (res: Response) => {
    res.setHeader('connection', 'close');
    return new GatewayError('ERR_BODY_TOO_LARGE', `These routes take no request body (at most ${maxBytes} bytes are tolerated).`);
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    // The one route that takes a body (back-channel logout) reads it with its own limit.
    if (readOwnBody.length > 0 && req.method === 'POST' && readOwnBody.includes((req.url ?? '').split('?', 1)[0] as string)) {
      next();
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) {
      next(tooLarge(res));
      return;
    }
    if (req.headers['transfer-encoding'] === undefined || req.complete) {
      next();
      return;
    }
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return;
      done();
      req.pause();
      next(tooLarge(res));
    };
    const onEnd = () => {
      done();
      next();
    };
    // An aborted upload: the caller is gone and the access log records it; nothing to answer.
    const onClose = () => done();
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
  };
}
