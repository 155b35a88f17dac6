import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import type { Dispatcher } from 'undici';
import type { UpstreamSettings } from '../config.ts';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { UpstreamBudget } from './budget.ts';
import { decide, parseRetryAfter, type AttemptOutcome, type Repeatability } from './retry-policy.ts';
import type { TokenProvider } from './token-provider.ts';

export interface UpstreamCall {
  operation: 'startCampaignReport' | 'exportNonEmployeeRecords';
  method: 'GET' | 'POST';
  /** Path under the tenant origin, already validated and encoded. */
  path: string;
  accept: string;
  repeatability: Repeatability;
  requestId: string;
  /** Aborts queued and running attempts: the caller went away. */
  signal: AbortSignal;
  log: Logger;
  /** Counts attempts for the access log, also when the call fails. */
  trace: { attempts: number };
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
  budget: UpstreamBudget;
  settings: UpstreamSettings;
  userAgent: string;
}): UpstreamClient {
  const { settings } = deps;
  const origin = deps.baseUrl.origin;

  /** One HTTP exchange, through the budget, until the response headers. */
  async function exchange(call: UpstreamCall, token: string): Promise<Dispatcher.ResponseData | { error: unknown }> {
    call.trace.attempts += 1;
    try {
      return await deps.budget.schedule(
        () =>
          deps.dispatcher.request({
            origin,
            path: call.path,
            method: call.method,
            headers: {
              authorization: `Bearer ${token}`,
              accept: call.accept,
              'x-request-id': call.requestId,
              'user-agent': deps.userAgent,
            },
            signal: call.signal,
            headersTimeout: settings.timeoutMs,
            bodyTimeout: settings.streamIdleTimeoutMs,
          }),
        call.signal,
      );
    } catch (error) {
      if (call.signal.aborted) throw new AbortError(call.signal.reason instanceof Error ? call.signal.reason : new Error('caller went away'));
      return { error };
    }
  }

  async function attempt(call: UpstreamCall): Promise<UpstreamReply> {
    let token = await getToken();
    let result = await exchange(call, token);
    if (!('error' in result) && result.statusCode === 401) {
      // SailPoint no longer accepts the gateway's token: drop it, fetch a new one once, try once more.
      await result.body.dump();
      deps.tokens.invalidate(token);
      call.log.warn('upstream answered 401; refreshing the gateway credential once');
      token = await getToken();
      result = await exchange(call, token);
      if (!('error' in result) && result.statusCode === 401) {
        await result.body.dump();
        deps.tokens.invalidate(token);
        throw new AbortError(new GatewayError('ERR_UPSTREAM_FAILED', 'SailPoint rejected the gateway credential.'));
      }
    }

    const outcome: AttemptOutcome =
      'error' in result
        ? { kind: 'error', code: errorCode(result.error) }
        : { kind: 'response', status: result.statusCode, retryAfterMs: parseRetryAfter(result.headers['retry-after'], Date.now()) };
    call.log.debug({ attempt: call.trace.attempts, outcome }, 'upstream attempt');
    const decision = decide(outcome, call.repeatability);
    if (decision.action === 'accept' && !('error' in result)) {
      return { statusCode: result.statusCode, headers: result.headers, body: result.body };
    }
    if (!('error' in result)) await result.body.dump();
    if (decision.action === 'fail') throw new AbortError(decision.error);
    if (decision.action === 'retry') throw new RetryableAttempt(decision.reason, decision.retryAfterMs, decision.giveUp);
    throw new AbortError(new GatewayError('ERR_INTERNAL', 'unreachable retry decision'));
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
        return await pRetry(() => attempt(call), {
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
            if (error.retryAfterMs === undefined) return;
            // Honour Retry-After when it is longer than our own backoff, within the deadline.
            const waitMs = Math.min(error.retryAfterMs, settings.retryAfterCapMs);
            const elapsedMs = performance.now() - startedAt;
            if (elapsedMs + waitMs > settings.deadlineMs || error.retryAfterMs > settings.retryAfterCapMs) {
              giveUpEarly = true;
              return;
            }
            if (waitMs > retryDelay) await sleep(waitMs - retryDelay, undefined, { signal: call.signal });
          },
          shouldRetry: ({ error }) => error instanceof RetryableAttempt && !giveUpEarly,
        });
      } catch (error) {
        if (error instanceof RetryableAttempt) throw error.giveUp;
        throw error;
      }
    },
  };
}
