// Every failure the gateway itself reports is a GatewayError with a stable code; this file is the
// one place that turns a code into the contract's status, body and headers.

export type ErrorCode =
  | 'ERR_BAD_REQUEST'
  | 'ERR_NOT_FOUND'
  | 'ERR_REQUEST_TIMEOUT'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_HEADERS_TOO_LARGE'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_RATE_LIMITED'
  | 'ERR_UPSTREAM_FAILED'
  | 'ERR_UPSTREAM_TIMEOUT'
  | 'ERR_UPSTREAM_CREDENTIAL'
  | 'ERR_KEYS_UNAVAILABLE'
  | 'ERR_NOT_READY'
  | 'ERR_INTERNAL';

interface Catalogue {
  status: number;
  detailCode: string;
}

const CATALOGUE: Record<ErrorCode, Catalogue> = {
  ERR_BAD_REQUEST: { status: 400, detailCode: '400.1 Bad Request Content' },
  ERR_NOT_FOUND: { status: 404, detailCode: '404 Not found' },
  ERR_REQUEST_TIMEOUT: { status: 408, detailCode: '408 Request Timeout' },
  ERR_BODY_TOO_LARGE: { status: 413, detailCode: '413 Content Too Large' },
  ERR_HEADERS_TOO_LARGE: { status: 431, detailCode: '431 Request Header Fields Too Large' },
  ERR_UNAUTHENTICATED: { status: 401, detailCode: '401 Unauthorized' },
  ERR_FORBIDDEN: { status: 403, detailCode: '403 Forbidden' },
  ERR_RATE_LIMITED: { status: 429, detailCode: '429 Too Many Requests' },
  ERR_UPSTREAM_FAILED: { status: 502, detailCode: '502 Bad Gateway' },
  ERR_UPSTREAM_TIMEOUT: { status: 504, detailCode: '504 Gateway Timeout' },
  ERR_UPSTREAM_CREDENTIAL: { status: 503, detailCode: '503 Service Unavailable' },
  ERR_KEYS_UNAVAILABLE: { status: 503, detailCode: '503 Service Unavailable' },
  ERR_NOT_READY: { status: 503, detailCode: '503 Service Unavailable' },
  ERR_INTERNAL: { status: 500, detailCode: '500.0 Internal Fault' },
};

export class GatewayError extends Error {
  readonly code: ErrorCode;
  /** Whole seconds for Retry-After, on 429 and 503. */
  readonly retryAfterS: number | undefined;
  constructor(code: ErrorCode, message: string, options: { retryAfterS?: number; cause?: unknown } = {}) {
    // A refusal (4xx) is an answer, not a fault: no stack trace to capture. Capturing one was 7 %
    // of the CPU of a flood of 404s; the 5xx keep theirs (and a cause keeps its own).
    const stackTraceLimit = Error.stackTraceLimit;
    if (CATALOGUE[code].status < 500) Error.stackTraceLimit = 0;
    try {
      super(message, { cause: options.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'GatewayError';
    this.code = code;
    this.retryAfterS = options.retryAfterS === undefined ? undefined : Math.max(1, Math.ceil(options.retryAfterS));
  }

  get status(): number {
    return CATALOGUE[this.code].status;
  }
}

/** The one 404: it carries nothing of the request, so every unknown path is refused with it. */
export const NOT_FOUND = new GatewayError('ERR_NOT_FOUND', 'The server did not find a current representation for the target resource.');

/** A request the gateway cannot read at all: a body parser's or a path decoder's 400. */
export const MALFORMED = new GatewayError('ERR_BAD_REQUEST', 'The request is malformed.');

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

function quoted(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
}

/** Maps a gateway error to the contract's shapes. Never includes a stack or a cause. */
export function errorReply(error: GatewayError, requestId: string): ErrorReply {
  const { status, detailCode } = CATALOGUE[error.code];
  const headers: Record<string, string> = {};
  if (error.retryAfterS !== undefined) headers['retry-after'] = String(error.retryAfterS);

  if (status === 401) {
    headers['www-authenticate'] =
      `Bearer realm="sailpoint-gateway", error="invalid_token", error_description="${quoted(error.message)}"`;
    return { status, headers, body: { error: error.message } };
  }
  if (status === 429) {
    headers['retry-after'] ??= '1';
    return { status, headers, body: { message: 'Rate Limit Exceeded' } };
  }
  return {
    status,
    headers,
    body: {
      detailCode,
      trackingId: requestId,
      messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text: error.message }],
      causes: [],
    },
  };
}

/** Anything thrown that is not a GatewayError is a bug or a framework error; classify it safely. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const status = typeof error === 'object' && error !== null && 'status' in error ? Number(error.status) : 500;
  if (status === 400) return MALFORMED;
  if (status === 404) return NOT_FOUND;
  return new GatewayError('ERR_INTERNAL', 'An internal fault occurred.', { cause: error });
}
