// Pure rules: given what one upstream attempt produced, accept it, retry it, or give up.
// Kept free of I/O so each rule is tested directly and written down in one place.
import { GatewayError } from '../errors.ts';

/**
 * 'repeatable': a GET; repeating it changes nothing upstream.
 * 'once': the run-report POST. SailPoint would start the report twice if a request that reached it
 * were repeated, so it is retried only when the request certainly did not reach it (the connection
 * was never made) or SailPoint said it did not process it (429, 503).
 */
export type Repeatability = 'repeatable' | 'once';

export type AttemptOutcome =
  | { kind: 'response'; status: number; retryAfterMs: number | undefined }
  | { kind: 'error'; code: string };

export type Decision =
  | { action: 'accept' }
  | { action: 'retry'; reason: string; retryAfterMs: number | undefined; giveUp: GatewayError }
  | { action: 'fail'; error: GatewayError };

/** Errors raised before a connection existed: the request cannot have reached the upstream. */
const NEVER_SENT = new Set([
  'ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_PROXY_CONNECT',
]);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Whether SailPoint may have acted on one attempt: false only when the request certainly never
 * reached it (no connection was made) or it said it did not process it (429, 503). This is the
 * fact both the 'once' retry rule and the Idempotency-Key rule stand on.
 */
export function reachedUpstream(outcome: AttemptOutcome): boolean {
  return outcome.kind === 'response' || !NEVER_SENT.has(outcome.code);
}

export function mayHaveActed(outcome: AttemptOutcome): boolean {
  if (outcome.kind === 'error') return !NEVER_SENT.has(outcome.code);
  return outcome.status !== 429 && outcome.status !== 503;
}

/** Statuses relayed to the caller as they are: they describe the caller's request, not a fault. */
const RELAYED_STATUSES = new Set([400, 403, 404]);

const upstreamFailed = (text: string) => new GatewayError('ERR_UPSTREAM_FAILED', text);
const upstreamTimeout = () => new GatewayError('ERR_UPSTREAM_TIMEOUT', 'SailPoint did not answer in time.');

export function rateLimited(retryAfterMs: number | undefined): GatewayError {
  return new GatewayError('ERR_RATE_LIMITED', 'Rate Limit Exceeded', { retryAfterS: (retryAfterMs ?? 1000) / 1000 });
}

export function decide(outcome: AttemptOutcome, repeatability: Repeatability): Decision {
  if (outcome.kind === 'error') {
    if (NEVER_SENT.has(outcome.code)) {
      return { action: 'retry', reason: 'connect_failed', retryAfterMs: undefined, giveUp: upstreamFailed('SailPoint could not be reached.') };
    }
    const timedOut = TIMEOUTS.has(outcome.code);
    const giveUp = timedOut ? upstreamTimeout() : upstreamFailed('The connection to SailPoint failed.');
    if (repeatability === 'once') return { action: 'fail', error: giveUp };
    return { action: 'retry', reason: timedOut ? 'timeout' : 'connection_reset', retryAfterMs: undefined, giveUp };
  }

  const { status, retryAfterMs } = outcome;
  if ((status >= 200 && status < 300) || RELAYED_STATUSES.has(status)) return { action: 'accept' };
  if (status === 429) return { action: 'retry', reason: 'rate_limited', retryAfterMs, giveUp: rateLimited(retryAfterMs) };
  const failed = upstreamFailed(`SailPoint answered ${status}.`);
  if (status === 503 || (repeatability === 'repeatable' && (status === 502 || status === 504))) {
    return { action: 'retry', reason: `status_${status}`, retryAfterMs, giveUp: failed };
  }
  return { action: 'fail', error: failed };
}

/** Retry-After as delta-seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
