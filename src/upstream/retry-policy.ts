// Pure rules: given what one upstream attempt produced, accept it, retry it, refresh the
// credential, or give up. The one place that says what may be sent again, kept free of I/O so
// each rule is tested directly; the client is a plain loop around nextStep().
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
  | { kind: 'error'; code: string }
  /** The answer was larger than the gateway gathers (1 MiB): never repeated. */
  | { kind: 'oversized' };

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
  return outcome.kind !== 'error' || !NEVER_SENT.has(outcome.code);
}

export function mayHaveActed(outcome: AttemptOutcome): boolean {
  switch (outcome.kind) {
    case 'error':
      return !NEVER_SENT.has(outcome.code);
    case 'oversized':
      return true;
    case 'response':
      return outcome.status !== 429 && outcome.status !== 503;
  }
}

/** Statuses relayed to the caller as they are: they describe the caller's request, not a fault. */
const RELAYED_STATUSES = new Set([400, 403, 404]);

const upstreamFailed = (text: string) => new GatewayError('ERR_UPSTREAM_FAILED', text);
const upstreamTimeout = () => new GatewayError('ERR_UPSTREAM_TIMEOUT', 'SailPoint did not answer in time.');

export function rateLimited(retryAfterMs: number | undefined): GatewayError {
  return new GatewayError('ERR_RATE_LIMITED', 'Rate Limit Exceeded', { retryAfterS: (retryAfterMs ?? 1000) / 1000 });
}

export function decide(outcome: AttemptOutcome, repeatability: Repeatability): Decision {
  if (outcome.kind === 'oversized') return { action: 'fail', error: upstreamFailed('SailPoint answered with an oversized body.') };
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

/** Jittered exponential backoff between attempts: 100 ms, then doubling, at most 2 s, times 1 to 2. */
export const BACKOFF = { minMs: 100, factor: 2, maxMs: 2000 } as const;

export interface RetryLimits {
  /** UPSTREAM_RETRIES: attempts after the first. */
  retries: number;
  /** UPSTREAM_DEADLINE_MS: no retry is started that would end past it. */
  deadlineMs: number;
  /** UPSTREAM_RETRY_AFTER_CAP_MS: a Retry-After longer than this is not waited for. */
  retryAfterCapMs: number;
}

export interface AttemptFacts {
  outcome: AttemptOutcome;
  repeatability: Repeatability;
  /** This attempt's number, from 1; the one repeated with a fresh credential does not count. */
  attempt: number;
  /** Since the call started. */
  elapsedMs: number;
  /** The credential was already refreshed once in this call. */
  credentialRefreshed: boolean;
  /** 0 to 1: the random part of the backoff, given so that this stays a pure function. */
  jitter: number;
}

/**
 * What to do after an attempt, with the word metrics count it by:
 * - accept: pass the answer on (`success`, or `relayed` for SailPoint's 400/403/404);
 * - refresh-credential: SailPoint refused the gateway's token; drop it, fetch one, try once more;
 * - retry: after delayMs (an upstream 429's Retry-After is waited out by the shared pause in
 *   admission, not here);
 * - give-up: answer `error`; `gave_up` when retrying would have been allowed but nothing is left
 *   (attempts, deadline, or a Retry-After too long), else `failed`.
 */
export type Step =
  | { action: 'accept'; label: 'success' | 'relayed' }
  | { action: 'refresh-credential'; label: 'credential_rejected' }
  | { action: 'retry'; label: string; delayMs: number }
  | { action: 'give-up'; label: string; result: 'gave_up' | 'failed'; error: GatewayError };

export function nextStep(facts: AttemptFacts, limits: RetryLimits): Step {
  const { outcome } = facts;
  if (outcome.kind === 'response' && outcome.status === 401) {
    if (!facts.credentialRefreshed) return { action: 'refresh-credential', label: 'credential_rejected' };
    return { action: 'give-up', label: 'credential_rejected', result: 'failed', error: upstreamFailed('SailPoint rejected the gateway credential.') };
  }
  const decision = decide(outcome, facts.repeatability);
  switch (decision.action) {
    case 'accept':
      return { action: 'accept', label: outcome.kind === 'response' && outcome.status < 300 ? 'success' : 'relayed' };
    case 'fail':
      return { action: 'give-up', label: 'failed', result: 'failed', error: decision.error };
    case 'retry': {
      const giveUp = { action: 'give-up', label: decision.reason, result: 'gave_up', error: decision.giveUp } as const;
      const { retryAfterMs } = decision;
      if (retryAfterMs !== undefined && (retryAfterMs > limits.retryAfterCapMs || facts.elapsedMs + retryAfterMs > limits.deadlineMs)) return giveUp;
      if (facts.attempt > limits.retries) return giveUp;
      const delayMs = Math.min(BACKOFF.maxMs, Math.round(BACKOFF.minMs * BACKOFF.factor ** (facts.attempt - 1) * (1 + facts.jitter)));
      if (facts.elapsedMs + delayMs > limits.deadlineMs) return giveUp;
      return { action: 'retry', label: decision.reason, delayMs };
    }
  }
}
