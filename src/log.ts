import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

// Belt and braces: the access line never serialises headers, but anything that logs an object
// carrying one of these keys gets it censored rather than written out.
const REDACT_PATHS = [
  'authorization', '*.authorization', '*.headers.authorization', '*.headers.cookie', '*.headers["set-cookie"]',
  'cookie', '*.cookie', 'token', '*.token', 'access_token', '*.access_token', 'accessToken', '*.accessToken',
  'clientSecret', '*.clientSecret', 'client_secret', '*.client_secret', 'password', '*.password',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'sailpoint-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
