import pino, { type DestinationStream, type Logger } from 'pino';
import { BatchedLines } from './batched-lines.ts';
import { isoTime } from './iso-time.ts';

export type { Logger };

// Belt and braces: no log line is built from headers or credentials, but a value logged under one
// of these names is censored rather than written out. Exact paths only: wildcard redaction clones
// every logged object and cost a fifth of the gateway's CPU per request.
const REDACT_PATHS = [
  'authorization', 'cookie', 'token', 'access_token', 'accessToken', 'clientSecret', 'client_secret', 'password',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
];

// Every line carries it, from pino's bindings or from writeLineAs.
const BASE = { service: 'sailpoint-gateway' } as const;

export function createLogger(level: string, destination?: DestinationStream): Logger {
  if (destination === undefined) {
    // One write per 16 KiB of lines rather than one per line, flushed at least every second so a
    // quiet gateway's lines still appear promptly. main.ts flushes on exit. Up to 1 MiB waits
    // while stdout takes nothing; beyond that lines are dropped and counted (batched-lines.ts).
    // A pipe or socket inherited as stdout is blocking, and a reader that stopped reading would
    // stop the event loop inside writeSync. Node's own stdout stream opens a pipe or a socket
    // non-blocking (libuv's uv_pipe_open): creating it is enough; nothing is written through it.
    void process.stdout;
    const stdout = new BatchedLines(1, { batchBytes: 16 * 1024, capacityBytes: 1024 * 1024 });
    setInterval(() => stdout.flush(), 1000).unref();
    destination = stdout;
  }
  return pino(
    {
      level,
      base: BASE,
      // pino's isoTime, from the same cached second as the access line's.
      timestamp: () => `,"time":"${isoTime(Date.now())}"`,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Where a logger's lines go: the audit records on stdout share it, so no line splits another. */
export function destinationOf(logger: Logger): DestinationStream {
  return (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym] as DestinationStream;
}

/**
 * One line in pino's own format (level, time, service, the fields, msg), written straight to the
 * logger's destination: for the access line, which every request writes. Serialised by
 * JSON.stringify instead of pino's generic code, the small call went from 106.6 to 98.5 us (both
 * builds in turns, 6 rounds, lower in each). Only for fixed fields that never hold a secret:
 * pino's redaction is not applied. The caller checks `logger.isLevelEnabled(level)` first, so
 * that the fields are only gathered for a line that is written.
 */
export function writeLineAs(logger: Logger, level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string): void {
  destinationOf(logger).write(lineOf(level, isoTime(Date.now()), fields, msg));
}

const BASE_JSON = JSON.stringify(BASE).slice(1, -1);

/**
 * The line pino would write, assembled from the fields' own JSON rather than from one object
 * spread together (which cost a quarter more). `fields` never holds level, time, service or msg.
 */
export function lineOf(level: string, time: string, fields: Record<string, unknown>, msg: string): string {
  const own = JSON.stringify(fields);
  const rest = own.length > 2 ? `,${own.slice(1, -1)}` : '';
  return `{"level":"${level}","time":"${time}",${BASE_JSON}${rest},"msg":${JSON.stringify(msg)}}\n`;
}
