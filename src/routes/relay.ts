import type { Response } from 'express';
import { GatewayError } from '../errors.ts';
import type { UpstreamReply } from '../upstream/client.ts';

// JSON answers from SailPoint are small; a hostile or broken upstream must not make us buffer more.
const MAX_JSON_BYTES = 1024 * 1024;

async function readLimited(reply: UpstreamReply): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of reply.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_JSON_BYTES) {
      reply.body.destroy();
      throw new GatewayError('ERR_UPSTREAM_FAILED', 'SailPoint answered with an oversized body.');
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Relays a buffered upstream answer (2xx JSON, or a 400/403/404 error body) with its status. */
export async function relayBuffered(reply: UpstreamReply, res: Response): Promise<void> {
  let body: Buffer;
  try {
    body = await readLimited(reply);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError('ERR_UPSTREAM_FAILED', 'The connection to SailPoint failed while reading its answer.', { cause: error });
  }
  const contentType = reply.headers['content-type'];
  res.status(reply.statusCode);
  res.setHeader('content-type', typeof contentType === 'string' ? contentType : 'application/json');
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}
