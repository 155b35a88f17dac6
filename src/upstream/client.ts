import pRetry, { AbortError } from 'p-retry';
import type { Dispatcher } from 'undici';
import { OversizedBody, requestBuffered, type BufferedResponse } from './buffered-request.ts';
import type { UpstreamSettings } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { RequestLog, UpstreamTally } from '../http/context.ts';
import { outgoingTraceparent, type TraceContext } from '../http/trace-context.ts';
import type { Admission, CallClass } from './admission.ts';
import type { WindowStore } from './budget/window.ts';
import { decide, mayHaveActed, parseRetryAfter, reachedUpstream, type AttemptOutcome, type Decision, type Repeatability } from './retry-policy.ts';
import type { TokenProvider } from './token-provider.ts';
import type { Metrics } from '../metrics.ts';
import type { OperationName } from '../operations/table.ts';

export interface UpstreamCall {
  operation: OperationName;
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

export type BufferedReply = BufferedResponse;

export interface UpstreamClient {
  /** The answer with its body as a stream, for the caller to pipe on (the CSV export). */
  send(call: UpstreamCall): Promise<UpstreamReply>;
  /** The answer with its whole body in memory (SailPoint's small JSON replies, at most 1 MiB). */
  sendBuffered(call: UpstreamCall): Promise<BufferedReply>;
}

// JSON answers from SailPoint are small; a hostile or broken upstream must not make us buffer more.
export const MAX_BUFFERED_BYTES = 1024 * 1024;

interface Exchanged<B> {
  statusCode: number;
  headers: UpstreamReply['headers'];
  body: B;
}

type RequestOptions = Dispatcher.RequestOptions & { origin: string; signal: AbortSignal };

/** How an exchange's body is taken: streamed on, or gathered in memory before the call returns. */
interface BodyMode<B> {
  request(dispatcher: Dispatcher, options: RequestOptions): Promise<Exchanged<B>>;
  /** Throws away the body of an answer that is not passed on, so its connection can be reused. */
  discard(body: B): Promise<void>;
  /** Calls release once the body is consumed: a stream holds its concurrency slot until then. */
  whenConsumed(body: B, release: () => void): void;
}

const streamed: BodyMode<UpstreamReply['body']> = {
  request: (dispatcher, options) => dispatcher.request(options),
  discard: async (body) => void (await body.dump()),
  whenConsumed: (body, release) => void body.once('close', release),
};

const buffered: BodyMode<Buffer> = {
  request: (dispatcher, { signal, ...options }) => requestBuffered(dispatcher, options, signal, MAX_BUFFERED_BYTES),
  discard: async () => {},
  whenConsumed: (_body, release) => release(),
};

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

  /** One HTTP exchange through the admission queue and the budget: until the headers when streamed, the whole answer when buffered. */
  async function exchange<B>(mode: BodyMode<B>, call: UpstreamCall, token: string): Promise<Exchanged<B> | { error: unknown }> {
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
    // Sent from here on, as far as anyone looking now can tell (the audit record of a caller who
    // leaves meanwhile is written at once); taken back only if the connection was never made.
    const reachedBefore = call.tally.reached;
    call.tally.reached = true;
    try {
      const response = await mode.request(deps.dispatcher, {
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
      mode.whenConsumed(response.body, () => permit.release());
      if (response.statusCode === 429) {
        // Everyone cools down together, not just this call.
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now()) ?? 1000;
        deps.window.pause(Math.min(retryAfterMs, settings.retryAfterCapMs));
      }
      return response;
    } catch (error) {
      permit.release();
      // Sent, or about to be, when the caller left: whether SailPoint acted on it is unknown.
      if (call.signal.aborted) call.tally.mayHaveActed = true;
      if (!call.signal.aborted && !reachedUpstream({ kind: 'error', code: errorCode(error) })) call.tally.reached = reachedBefore;
      if (call.signal.aborted) throw new AbortError(call.signal.reason instanceof Error ? call.signal.reason : new Error('caller went away'));
      return { error };
    }
  }

  async function attempt<B>(mode: BodyMode<B>, call: UpstreamCall): Promise<Exchanged<B>> {
    let token = await getToken();
    let result = await exchange(mode, call, token);
    if (!('error' in result) && result.statusCode === 401) {
      // SailPoint no longer accepts the gateway's token: drop it, fetch a new one once, try once more.
      countAttempt(call, 'credential_rejected');
      await mode.discard(result.body);
      deps.tokens.invalidate(token);
      call.log.warn('upstream answered 401; refreshing the gateway credential once');
      token = await getToken();
      result = await exchange(mode, call, token);
      if (!('error' in result) && result.statusCode === 401) {
        countAttempt(call, 'credential_rejected');
        await mode.discard(result.body);
        deps.tokens.invalidate(token);
        throw new AbortError(new GatewayError('ERR_UPSTREAM_FAILED', 'SailPoint rejected the gateway credential.'));
      }
    }

    if ('error' in result && result.error instanceof OversizedBody) {
      call.tally.mayHaveActed = true;
      countAttempt(call, 'failed');
      throw new AbortError(new GatewayError('ERR_UPSTREAM_FAILED', 'SailPoint answered with an oversized body.'));
    }
    const outcome: AttemptOutcome =
      'error' in result
        ? { kind: 'error', code: errorCode(result.error) }
        : { kind: 'response', status: result.statusCode, retryAfterMs: parseRetryAfter(result.headers['retry-after'], Date.now()) };
    call.log.debug({ attempt: call.tally.attempts, outcome }, 'upstream attempt');
    if (mayHaveActed(outcome)) call.tally.mayHaveActed = true;
    const decision = decide(outcome, call.repeatability);
    countAttempt(call, attemptLabel(outcome, decision));
    if (decision.action === 'accept' && !('error' in result)) return result;
    if (!('error' in result)) await mode.discard(result.body);
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

  async function send<B>(mode: BodyMode<B>, call: UpstreamCall): Promise<Exchanged<B>> {
    const startedAt = performance.now();
    let giveUpEarly = false;
    try {
      const reply = await pRetry(() => attempt(mode, call), {
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
  }

  return {
    send: (call) => send(streamed, call),
    sendBuffered: (call) => send(buffered, call),
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
