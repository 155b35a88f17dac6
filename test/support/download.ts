import { createHash } from 'node:crypto';
import { get, type IncomingMessage } from 'node:http';

export interface Download {
  status: number;
  headers: IncomingMessage['headers'];
  bytes: number;
  sha256: string;
  /** True only if the response ended cleanly (all of Content-Length, or the final chunk). */
  complete: boolean;
  /** The connection failed mid-body. */
  failed: boolean;
}

/** Downloads with node:http so that a cut connection is seen as exactly that. */
export function download(
  url: string,
  authorization: string,
  options: { onResponse?: (res: IncomingMessage) => void; headers?: Record<string, string> } = {},
): Promise<Download> {
  return new Promise((resolve, reject) => {
    const req = get(url, { headers: { authorization, accept: 'application/json, text/plain, */*', ...options.headers } }, (res) => {
      options.onResponse?.(res);
      const hash = createHash('sha256');
      let bytes = 0;
      let failed = false;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('error', () => {
        failed = true;
      });
      res.on('aborted', () => {
        failed = true;
      });
      res.on('close', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, sha256: hash.digest('hex'), complete: res.complete && !failed, failed: failed || !res.complete });
      });
    });
    req.on('error', reject);
  });
}

/** Starts a download and hangs up once more than `afterBytes` have arrived, like a caller closing the tab. */
export function downloadThenLeave(url: string, authorization: string, afterBytes: number, headers: Record<string, string> = {}): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const req = get(url, { headers: { authorization, ...headers } }, (res) => {
      let seen = 0;
      res.on('data', (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > afterBytes) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
  });
}
