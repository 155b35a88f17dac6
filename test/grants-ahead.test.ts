import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createGrantsAhead } from '../src/upstream/grants-ahead.ts';

describe('grants that may go ahead of a flood', () => {
  it('counts other callers\' grants within the last span, never forgetting one early, and remembering one at most a fiftieth of the span too long (fast-check, seeded)', () => {
    const spanMs = 1000;
    const step = fc.record({ advanceMs: fc.integer({ min: 0, max: 400 }), caller: fc.constantFrom('a', 'b', 'c') });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), fc.constantFrom('a', 'b', 'c'), (steps, asker) => {
        let t = 0;
        const grants = createGrantsAhead(spanMs, () => t);
        const noted: Array<{ at: number; caller: string }> = [];
        for (const { advanceMs, caller } of steps) {
          t += advanceMs;
          grants.note(caller);
          noted.push({ at: t, caller });
          const others = (sinceMs: number) => noted.filter((g) => g.caller !== asker && g.at > t - sinceMs).length;
          const ahead = grants.aheadOf(asker);
          assert.ok(ahead >= others(spanMs), `${ahead} counted, ${others(spanMs)} within the span`);
          assert.ok(ahead <= others(spanMs * 1.02), `${ahead} counted, ${others(spanMs * 1.02)} within 1.02 of it`);
        }
      }),
      { seed: 20261206, numRuns: 300 },
    );
  });

  it('When the span has passed since a grant, then it is forgotten', () => {
    let t = 0;
    const grants = createGrantsAhead(250, () => t);
    grants.note('light');
    assert.equal(grants.aheadOf('flooder'), 1);
    assert.equal(grants.aheadOf('light'), 0, 'a caller never goes ahead of itself');
    t = 250;
    assert.equal(grants.aheadOf('flooder'), 1, 'remembered for the whole span');
    t = 255; // and the fiftieth of it that its slice lasts
    assert.equal(grants.aheadOf('flooder'), 0);
  });
});
