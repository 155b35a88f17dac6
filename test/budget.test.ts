import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import request from 'supertest';
import { runReportPath, startHarness } from './support/harness.ts';
import { maxInAnyWindow } from './support/windows.ts';

describe('the upstream budget', () => {
  it('When hundreds of concurrent calls from many callers arrive, then no sliding window ever sees more than the limit and the tenant never answers 429', async () => {
    const limit = 40;
    const windowMs = 1000;
    const h = await startHarness({
      env: { UPSTREAM_RATE_LIMIT: String(limit), UPSTREAM_RATE_WINDOW_MS: String(windowMs), UPSTREAM_RATE_BURST: String(limit), UPSTREAM_QUEUE_WAIT_MS: '30000' },
      tenant: { rateLimit: { limit, windowMs } },
    });
    try {
      const callers = await Promise.all(Array.from({ length: 25 }, (_, i) => h.token({ sub: `caller-${i}`, roles: ['CERT_ADMIN'] })));
      const responses = await Promise.all(
        Array.from({ length: 200 }, (_, i) => request(h.url).post(runReportPath()).set('Authorization', `Bearer ${callers[i % callers.length]}`)),
      );
      assert.deepEqual([...new Set(responses.map((r) => r.status))], [202]);
      assert.equal(h.tenant.requests.length, 200);
      assert.equal(h.tenant.rateLimited, 0);
      const worst = maxInAnyWindow(h.tenant.requests.map((r) => r.atMs), windowMs);
      assert.ok(worst <= limit, `${worst} arrivals within one ${windowMs} ms window`);
      assert.ok(worst >= limit * 0.9, `the budget is used, not wasted: ${worst} of ${limit} in the busiest window`);
    } finally {
      await h.close();
    }
  });

  it('maxInAnyWindow counts a window edge correctly', () => {
    assert.equal(maxInAnyWindow([0, 100, 499, 500, 999], 500), 3);
    assert.equal(maxInAnyWindow([], 500), 0);
  });
});
