// The cached timestamp text must be exactly what Date would write, for any sequence of instants:
// within one second, across seconds, back in time (a clock stepped back), and at any year Date
// can hold (past 9999 its year grows wider).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isoTime } from '../src/iso-time.ts';

const MAX_DATE_MS = 8.64e15;
const NOW_MS = Date.parse('2026-12-03T08:15:42.000Z');

describe('isoTime', () => {
  it('writes what toISOString writes, for any sequence of instants (fast-check, seeded)', () => {
    const instant = fc.oneof(
      // Milliseconds around one second's edges, the usual case.
      fc.integer({ min: NOW_MS - 1500, max: NOW_MS + 1500 }),
      fc.integer({ min: -MAX_DATE_MS, max: MAX_DATE_MS }),
    );
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 20 }), (instants) => {
        for (const ms of instants) assert.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
      }),
      { seed: 20261203, numRuns: 500 },
    );
  });

  it('keeps the milliseconds three digits wide', () => {
    assert.equal(isoTime(NOW_MS + 7), '2026-12-03T08:15:42.007Z');
    assert.equal(isoTime(NOW_MS + 70), '2026-12-03T08:15:42.070Z');
    assert.equal(isoTime(NOW_MS + 700), '2026-12-03T08:15:42.700Z');
    assert.equal(isoTime(NOW_MS - 1), '2026-12-03T08:15:41.999Z');
  });
});
