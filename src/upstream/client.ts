import pRetry, { AbortError } from 'p-retry';
import type { Dispatcher } from 'undici';
import type { UpstreamSettings } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { RequestLog, UpstreamTally } from '../http/context.ts';
import { outgoingTraceparent, type TraceContext } from '../http/trace-context.ts';
import type { Admission, CallClass } from './admission.ts';
import type { WindowStore } from './budget/window.ts';
import { decide, parseRetryAfter, type AttemptOutcome, type Decision, type Repeatability } from './retry-policy.ts';
import type { TokenProvider } from './token-provider.ts';
import type { Metrics } from '../metrics.ts';

export interface UpstreamCall {
  operation: 'startCampaignReport' | 'exportNonEmployeeRecords';
  method: 'GET' | 'POST';
  /** Path under the tenant origin, already validated and encoded. */
  path: string;
  accept: string;
  repeatability: Repeatability;
  /** Interactive calls go before exports, which have their own concurrency limit. */
  callClass: CallClass;
  /** The caller's subject: fairness is per caller. */
  caller: string;
  requestId: string;
  /** Aborts queued and running attempts: the caller went away. */
  signal: AbortSignal;
  log: RequestLog;
  /** Counts attempts, queue time and the last status for the logs, also when the call fails. */
  tally: UpstreamTally;
  /** The W3C trace this call continues; SailPoint sees this hop as the parent span. */
  trace: TraceContext;
}

export interface UpstreamReply {
  statusCode: number;
  headers: Dispatcher.ResponseData['headers'];
  body: Dispatcher.ResponseData['body'];
}

export interface UpstreamClient {
  send(call: UpstreamCall): Promise<UpstreamReply>;
}

/** An attempt that may be repeated; carries what to answer if no retry is left. */
class RetryableAttempt extends Error {
  readonly retryAfterMs: number | undefined;
  readonly giveUp: GatewayError;
  constructor(reason: string, retryAfterMs: number | undefined, giveUp: GatewayError) {
    super(reason);
    this.retryAfterMs = retryAfterMs;
    this.giveUp = giveUp;
  }
}

const errorCode = (error: unknown): string =>
  typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'UNKNOWN';

export function createUpstreamClient(deps: {
  baseUrl: URL;
  dispatcher: Dispatcher;
  tokens: TokenProvider;
  admission: Admission;
  window: WindowStore;
  settings: UpstreamSettings;
  userAgent: string;
  metrics: Metrics;
}): UpstreamClient {
  const { settings } = deps;
  const origin = deps.baseUrl.origin;

  async function admit(call: UpstreamCall) {
    try {
      return await deps.admission.acquire({ callClass: call.callClass, caller: call.caller, signal: call.signal });
    } catch (error) {
      // Shed (429) or the caller left while queued: neither is worth another attempt.
      throw new AbortError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** One HTTP exchange through the admission queue and the budget, until the response headers. */
  async function exchange(call: UpstreamCall, token: string): Promise<Dispatcher.ResponseData | { error: unknown }> {
    const permit = await admit(call);
    call.tally.attempts += 1;
    call.tally.queueWaitMs += permit.waitedMs;
    deps.metrics.queueWaitSeconds.observe({ class: call.callClass }, permit.waitedMs / 1000);
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: call.accept,
      'x-request-id': call.requestId,
      'user-agent': deps.userAgent,
      traceparent: outgoingTraceparent(call.trace),
    };
    if (call.trace.tracestate !== undefined) headers.tracestate = call.trace.tracestate;
    try {
      const response = await deps.dispatcher.request({
        origin,
        path: call.path,
        method: call.method,
        headers,
        signal: call.signal,
        headersTimeout: settings.timeoutMs,
        bodyTimeout: settings.streamIdleTimeoutMs,
      });
      permit.settle();
      call.tally.status = response.statusCode;
      // The concurrency slot is held until the body is consumed: a stream holds an export slot.
      response.body.once('close', () => permit.release());
      if (response.statusCode === 429) {
        // Everyone cools down together, not just this call.
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now()) ?? 1000;
        deps.window.pause(Math.min(retryAfterMs, settings.retryAfterCapMs));
      }
      return response;
    } catch (error) {
      permit.release();
      if (call.signal.aborted) throw new AbortError(call.signal.reason instanceof Error ? call.signal.reason : new Error('caller went away'));
      return { error };
    }
  }

  async function attempt(call: UpstreamCall): Promise<UpstreamReply> {
    let token = await getToken();
    let result = await exchange(call, token);
    if (!('error' in result) && result.statusCode === 401) {
      // SailPoint no longer accepts the gateway's token: drop it, fetch a new one once, try once more.
      countAttempt(call, 'credential_rejected');
      await result.body.dump();
      deps.tokens.invalidate(token);
      call.log.warn('upstream answered 401; refreshing the gateway credential once');
      token = await getToken();
      result = await exchange(call, token);
      if (!('error' in result) && result.statusCode === 401) {
        countAttempt(call, 'credential_rejected');
        await result.body.dump();
        deps.tokens.invalidate(token);
        throw new AbortError(new GatewayError('ERR_UPSTREAM_FAILED', 'SailPoint rejected the gateway credential.'));
      }
    }

    const outcome: AttemptOutcome =
      'error' in result
        ? { kind: 'error', code: errorCode(result.error) }
        : { kind: 'response', status: result.statusCode, retryAfterMs: parseRetryAfter(result.headers['retry-after'], Date.now()) };
    call.log.debug({ attempt: call.tally.attempts, outcome }, 'upstream attempt');
    const decision = decide(outcome, call.repeatability);
    countAttempt(call, attemptLabel(outcome, decision));
    if (decision.action === 'accept' && !('error' in result)) {
      return { statusCode: result.statusCode, headers: result.headers, body: result.body };
    }
    if (!('error' in result)) await result.body.dump();
    if (decision.action === 'fail') throw new AbortError(decision.error);
    if (decision.action === 'retry') throw new RetryableAttempt(decision.reason, decision.retryAfterMs, decision.giveUp);
    throw new AbortError(new GatewayError('ERR_INTERNAL', 'unreachable retry decision'));
  }

  function countAttempt(call: UpstreamCall, outcome: string): void {
    deps.metrics.upstreamAttempts.inc({ operation: call.operation, outcome });
  }

  async function getToken(): Promise<string> {
    try {
      return await deps.tokens.get();
    } catch (error) {
      throw new AbortError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  return {
    async send(call) {
      const startedAt = performance.now();
      let giveUpEarly = false;
      try {
        const reply = await pRetry(() => attempt(call), {
          retries: settings.retries,
          factor: 2,
          minTimeout: 100,
          maxTimeout: 2000,
          randomize: true,
          maxRetryTime: settings.deadlineMs,
          signal: call.signal,
          onFailedAttempt: async ({ error, retryDelay }) => {
            if (!(error instanceof RetryableAttempt) || retryDelay === 0) return;
            call.log.info({ reason: error.message, retryAfterMs: error.retryAfterMs }, 'upstream attempt will be retried');
            // Retry-After is honoured by the shared pause every call waits for in admission;
            // here we only decide whether waiting is worth it at all.
            if (error.retryAfterMs === undefined) return;
            const elapsedMs = performance.now() - startedAt;
            if (error.retryAfterMs > settings.retryAfterCapMs || elapsedMs + error.retryAfterMs > settings.deadlineMs) giveUpEarly = true;
          },
          shouldRetry: ({ error }) => error instanceof RetryableAttempt && !giveUpEarly,
        });
        deps.metrics.upstreamCalls.inc({ operation: call.operation, result: reply.statusCode < 300 ? 'success' : 'relayed' });
        return reply;
      } catch (error) {
        deps.metrics.upstreamCalls.inc({ operation: call.operation, result: callResult(error, call.signal) });
        if (error instanceof RetryableAttempt) throw error.giveUp;
        throw error;
      }
    },
  };
}

/** A bounded word for one attempt: success, relayed (a 400/403/404 passed on), a retry reason, or failed. */
function attemptLabel(outcome: AttemptOutcome, decision: Decision): string {
  if (decision.action === 'accept') return outcome.kind === 'response' && outcome.status < 300 ? 'success' : 'relayed';
  if (decision.action === 'retry') return decision.reason;
  return 'failed';
}

/** How a whole call that did not return ended: retries used up, refused before an attempt, or not worth retrying. */
function callResult(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'caller_aborted';
  if (error instanceof RetryableAttempt) return 'gave_up';
  if (error instanceof GatewayError && error.code === 'ERR_RATE_LIMITED') return 'shed';
  if (error instanceof GatewayError && error.code === 'ERR_UPSTREAM_CREDENTIAL') return 'no_credential';
  return 'failed';
}
