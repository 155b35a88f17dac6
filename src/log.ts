import pino, { type DestinationStream, type Logger } from 'pino';
import { BatchedLines } from './batched-lines.ts';

export type { Logger };

// Belt and braces: no log line is built from headers or credentials, but a value logged under one
// of these names is censored rather than written out. Exact paths only: wildcard redaction clones
// every logged object and cost a fifth of the gateway's CPU per request.
const REDACT_PATHS = [
  'authorization', 'cookie', 'token', 'access_token', 'accessToken', 'clientSecret', 'client_secret', 'password',
  'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  if (destination === undefined) {
    // One write per 16 KiB of lines rather than one per line, flushed at least every second so a
    // quiet gateway's lines still appear promptly. main.ts flushes on exit. Up to 1 MiB waits
    // while stdout takes nothing; beyond that lines are dropped and counted (batched-lines.ts).
    const stdout = new BatchedLines(1, { batchBytes: 16 * 1024, capacityBytes: 1024 * 1024 });
    setInterval(() => stdout.flush(), 1000).unref();
    destination = stdout;
  }
  return pino(
    {
      level,
      base: { service: 'sailpoint-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
