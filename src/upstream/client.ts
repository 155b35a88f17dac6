import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { OversizedBody, requestBuffered, type BufferedResponse } from './buffered-request.ts';
import type { UpstreamSettings } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { RequestLog, UpstreamTally } from '../http/context.ts';
import { outgoingTraceparent, type TraceContext } from '../http/trace-context.ts';
import type { Admission, CallClass } from './admission.ts';
import type { WindowStore } from './budget/window.ts';
import { mayHaveActed, nextStep, parseRetryAfter, reachedUpstream, type AttemptOutcome, type Repeatability } from './retry-policy.ts';
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
  /**
   * The 429 the call would get from admission at once, asked before anything is prepared for it
   * (its signal, credential and attempt): a flood refused at its caller's queue limit cost about
   * 6 % less CPU a refusal (docs/PERFORMANCE.md). Counted as the call's result, as send() counts it.
   */
  refusalNow(call: Pick<UpstreamCall, 'operation' | 'callClass' | 'caller'>): GatewayError | undefined;
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

  /** One HTTP exchange through the admission queue and the budget: until the headers when streamed, the whole answer when buffered. */
  async function exchange<B>(mode: BodyMode<B>, call: UpstreamCall, token: string): Promise<Exchanged<B> | { error: unknown }> {
    // Shed (429) or the caller left while queued: thrown, and never worth another attempt.
    const permit = await deps.admission.acquire({ callClass: call.callClass, caller: call.caller, signal: call.signal });
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
      if (call.signal.aborted) throw call.signal.reason instanceof Error ? call.signal.reason : new Error('caller went away');
      return { error };
    }
  }

  function countAttempt(call: UpstreamCall, outcome: string): void {
    deps.metrics.upstreamAttempts.inc({ operation: call.operation, outcome });
  }

  function outcomeOf(result: Exchanged<unknown> | { error: unknown }): AttemptOutcome {
    if (!('error' in result)) return { kind: 'response', status: result.statusCode, retryAfterMs: parseRetryAfter(result.headers['retry-after'], Date.now()) };
    return result.error instanceof OversizedBody ? { kind: 'oversized' } : { kind: 'error', code: errorCode(result.error) };
  }

  /**
   * The call: attempts until nextStep() says accept or give up. Refusals before an attempt (no
   * budget, no credential) and the caller leaving end it at once, as thrown errors.
   */
  async function send<B>(mode: BodyMode<B>, call: UpstreamCall): Promise<Exchanged<B>> {
    const startedAt = performance.now();
    let credentialRefreshed = false;
    let counted = false;
    const countCall = (result: string) => {
      counted = true;
      deps.metrics.upstreamCalls.inc({ operation: call.operation, result });
    };
    try {
      for (let attempt = 1; ; ) {
        const token = await deps.tokens.get();
        const result = await exchange(mode, call, token);
        const outcome = outcomeOf(result);
        call.log.debug({ attempt: call.tally.attempts, outcome }, 'upstream attempt');
        if (mayHaveActed(outcome)) call.tally.mayHaveActed = true;
        const step = nextStep(
          { outcome, repeatability: call.repeatability, attempt, elapsedMs: performance.now() - startedAt, credentialRefreshed, jitter: Math.random() },
          { retries: settings.retries, deadlineMs: settings.deadlineMs, retryAfterCapMs: settings.retryAfterCapMs },
        );
        countAttempt(call, step.label);
        if (step.action === 'accept' && !('error' in result)) {
          countCall(step.label);
          return result;
        }
        if (!('error' in result)) await mode.discard(result.body);
        switch (step.action) {
          case 'accept':
            throw new GatewayError('ERR_INTERNAL', 'an upstream failure was accepted as an answer');
          case 'refresh-credential':
            deps.tokens.invalidate(token);
            credentialRefreshed = true;
            call.log.warn('upstream answered 401; refreshing the gateway credential once');
            break;
          case 'retry':
            call.log.info({ reason: step.label, delayMs: step.delayMs }, 'upstream attempt will be retried');
            await sleep(step.delayMs, undefined, { signal: call.signal });
            attempt += 1;
            break;
          case 'give-up':
            countCall(step.result);
            throw step.error;
        }
      }
    } catch (error) {
      if (!counted) countCall(callResult(error, call.signal));
      throw error;
    }
  }

  return {
    send: (call) => send(streamed, call),
    sendBuffered: (call) => send(buffered, call),
    refusalNow(call) {
      const refusal = deps.admission.refusalNow(call);
      if (refusal) deps.metrics.upstreamCalls.inc({ operation: call.operation, result: callResult(refusal, undefined) });
      return refusal;
    },
  };
}

/** How a call that ended before any step said so ended: the caller left, refused before an attempt, or a fault. */
function callResult(error: unknown, signal: AbortSignal | undefined): string {
  if (signal?.aborted) return 'caller_aborted';
  if (error instanceof GatewayError && error.code === 'ERR_RATE_LIMITED') return 'shed';
  if (error instanceof GatewayError && error.code === 'ERR_UPSTREAM_CREDENTIAL') return 'no_credential';
  return 'failed';
}
