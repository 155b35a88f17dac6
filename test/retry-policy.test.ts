import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BACKOFF, decide, nextStep, parseRetryAfter, type AttemptFacts } from '../src/upstream/retry-policy.ts';

const response = (status: number, retryAfterMs?: number) => ({ kind: 'response' as const, status, retryAfterMs });
const failure = (code: string) => ({ kind: 'error' as const, code });

describe('retry policy', () => {
  it('accepts 2xx and relays 400/403/404 without retry', () => {
    for (const status of [200, 202, 400, 403, 404]) {
      assert.equal(decide(response(status), 'once').action, 'accept', String(status));
    }
  });

  it('retries 429 and 503 for both operations, honouring Retry-After', () => {
    const decision = decide(response(429, 2000), 'once');
    assert.equal(decision.action, 'retry');
    assert.equal(decision.action === 'retry' && decision.retryAfterMs, 2000);
    assert.equal(decision.action === 'retry' && decision.giveUp.status, 429);
    assert.equal(decide(response(503), 'once').action, 'retry');
  });

  it('retries 502/504 only for the repeatable GET: the POST may already have started a report', () => {
    for (const status of [502, 504]) {
      assert.equal(decide(response(status), 'repeatable').action, 'retry');
      const once = decide(response(status), 'once');
      assert.equal(once.action === 'fail' && once.error.status, 502);
    }
  });

  it('never retries 500 or an unexpected 4xx', () => {
    for (const status of [500, 405, 409, 415]) {
      const decision = decide(response(status), 'repeatable');
      assert.equal(decision.action === 'fail' && decision.error.status, 502, String(status));
    }
  });

  it('retries connection failures that cannot have reached the upstream, for both operations', () => {
    for (const code of ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND']) {
      assert.equal(decide(failure(code), 'once').action, 'retry', code);
    }
  });

  it('retries resets and timeouts after sending only for the GET; the POST gives 502 or 504', () => {
    assert.equal(decide(failure('ECONNRESET'), 'repeatable').action, 'retry');
    assert.equal(decide(failure('UND_ERR_HEADERS_TIMEOUT'), 'repeatable').action, 'retry');
    const reset = decide(failure('UND_ERR_SOCKET'), 'once');
    assert.equal(reset.action === 'fail' && reset.error.status, 502);
    const timeout = decide(failure('UND_ERR_HEADERS_TIMEOUT'), 'once');
    assert.equal(timeout.action === 'fail' && timeout.error.status, 504);
  });

  it('reads Retry-After as delta-seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 10:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Mon, 23 Nov 2026 09:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});

describe('the next step after an attempt (one pure function)', () => {
  const limits = { retries: 2, deadlineMs: 25_000, retryAfterCapMs: 60_000 };
  const facts = (overrides: Partial<AttemptFacts>): AttemptFacts => ({
    outcome: response(202),
    repeatability: 'repeatable',
    attempt: 1,
    elapsedMs: 0,
    credentialRefreshed: false,
    jitter: 0,
    ...overrides,
  });

  it('accepts a success as success and a relayed 400/403/404 as relayed', () => {
    assert.deepEqual(nextStep(facts({}), limits), { action: 'accept', label: 'success' });
    assert.deepEqual(nextStep(facts({ outcome: response(404) }), limits), { action: 'accept', label: 'relayed' });
  });

  it('refreshes the credential once on a 401, and gives up with 502 on the second', () => {
    assert.deepEqual(nextStep(facts({ outcome: response(401) }), limits), { action: 'refresh-credential', label: 'credential_rejected' });
    const second = nextStep(facts({ outcome: response(401), credentialRefreshed: true }), limits);
    assert.equal(second.action === 'give-up' && second.error.status, 502);
    assert.equal(second.action === 'give-up' && second.result, 'failed');
  });

  it('backs off exponentially with jitter, capped at the maximum', () => {
    const delay = (attempt: number, jitter: number) => {
      const step = nextStep(facts({ outcome: response(503), attempt, jitter }), { ...limits, retries: 10 });
      return step.action === 'retry' ? step.delayMs : -1;
    };
    assert.equal(delay(1, 0), BACKOFF.minMs);
    assert.equal(delay(1, 0.5), 150);
    assert.equal(delay(2, 0), 200);
    assert.equal(delay(3, 0.99), 796);
    assert.equal(delay(8, 0), BACKOFF.maxMs);
  });

  it('gives up, counted as gave_up, when the attempts are used up or the deadline would pass', () => {
    const used = nextStep(facts({ outcome: response(503), attempt: 3 }), limits);
    assert.deepEqual(used.action === 'give-up' && [used.label, used.result, used.error.status], ['status_503', 'gave_up', 502]);
    const late = nextStep(facts({ outcome: response(503), elapsedMs: 24_950 }), limits);
    assert.equal(late.action, 'give-up');
  });

  it('does not wait for a Retry-After that is over the cap or past the deadline: 429 at once', () => {
    const long = nextStep(facts({ outcome: response(429, 120_000) }), limits);
    assert.deepEqual(long.action === 'give-up' && [long.result, long.error.status, long.error.retryAfterS], ['gave_up', 429, 120]);
    const fits = nextStep(facts({ outcome: response(429, 2000) }), limits);
    assert.equal(fits.action, 'retry');
  });

  it('never repeats an oversized answer, nor a report start that may have reached SailPoint', () => {
    for (const repeatability of ['once', 'repeatable'] as const) {
      const step = nextStep(facts({ outcome: { kind: 'oversized' }, repeatability }), limits);
      assert.deepEqual(step.action === 'give-up' && [step.label, step.error.message], ['failed', 'SailPoint answered with an oversized body.']);
    }
    assert.equal(nextStep(facts({ outcome: failure('ECONNRESET'), repeatability: 'once' }), limits).action, 'give-up');
    assert.equal(nextStep(facts({ outcome: failure('ECONNREFUSED'), repeatability: 'once' }), limits).action, 'retry');
  });
});
