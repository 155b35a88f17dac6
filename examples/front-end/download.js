// A file from the gateway with a progress bar and a cancel button: the body is read chunk by
// chunk, counted, and saved only when it is whole. A download cut mid-way (the connection reset,
// or fewer bytes than Content-Length) is reported and nothing is saved.
import { GatewayProblem } from './gateway.js';

const NEWLINE = 0x0a;
const QUOTE = 0x22;

/** Counts CSV rows as the bytes pass: newlines outside quoted fields. */
export function rowCounter() {
  let quoted = false;
  let rows = 0;
  return {
    add(chunk) {
      for (const byte of chunk) {
        if (byte === QUOTE) quoted = !quoted;
        else if (byte === NEWLINE && !quoted) rows += 1;
      }
    },
    rows: () => rows,
  };
}

/** The file name the gateway chose (Content-Disposition), else `fallback`. */
export function fileNameOf(response, fallback) {
  const match = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '');
  return match?.[1] ?? fallback;
}

/**
 * Reads the whole body; `onProgress({ bytes, total, rows })` after each chunk (`total` is null
 * without Content-Length). Resolves with a Blob; rejects with a GatewayProblem of kind 'cut' or
 * 'aborted'.
 */
export async function readWhole(response, { onProgress, countRows = false }) {
  const total = response.headers.has('content-length') ? Number(response.headers.get('content-length')) : null;
  const counter = countRows ? rowCounter() : undefined;
  const chunks = [];
  let bytes = 0;
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.byteLength;
      counter?.add(value);
      onProgress({ bytes, total, rows: counter?.rows() });
    }
  } catch (error) {
    if (error.name === 'AbortError') throw new GatewayProblem({ status: 0, text: `Cancelled after ${bytes.toLocaleString()} bytes; nothing was saved.`, kind: 'aborted' });
    throw new GatewayProblem({ status: response.status, text: `The download was cut after ${bytes.toLocaleString()} bytes; nothing was saved. Try again.`, kind: 'cut', requestId: response.headers.get('x-request-id') ?? undefined });
  }
  if (total !== null && bytes !== total) {
    throw new GatewayProblem({ status: response.status, text: `The download ended after ${bytes.toLocaleString()} of ${total.toLocaleString()} bytes; nothing was saved. Try again.`, kind: 'cut' });
  }
  return new Blob(chunks, { type: response.headers.get('content-type') ?? 'application/octet-stream' });
}

/** Hands a whole Blob to the browser's download manager under `name`. */
export function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
