import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../src/errors.ts';

describe('GatewayError', () => {
  it('a refusal (4xx) carries no stack frames, a fault (5xx) does, and the stack limit is left as it was', () => {
    const limit = Error.stackTraceLimit;
    const refusal = new GatewayError('ERR_NOT_FOUND', 'no such route');
    const fault = new GatewayError('ERR_UPSTREAM_FAILED', 'upstream broke');
    assert.doesNotMatch(refusal.stack ?? '', /\n\s+at /);
    assert.match(fault.stack ?? '', /\n\s+at /);
    assert.equal(Error.stackTraceLimit, limit);
    assert.equal(refusal.status, 404);
    assert.equal(refusal.message, 'no such route');
  });
});
