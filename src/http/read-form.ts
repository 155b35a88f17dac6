import type { IncomingMessage } from 'node:http';
import { GatewayError } from '../errors.ts';

/** A small application/x-www-form-urlencoded body, read whole up to maxBytes (413 past it). */
export async function readForm(req: IncomingMessage, maxBytes: number): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new GatewayError('ERR_BODY_TOO_LARGE', `The form is larger than ${maxBytes} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
