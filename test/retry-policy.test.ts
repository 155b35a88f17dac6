import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, parseRetryAfter } from '../src/upstream/retry-policy.ts';

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
