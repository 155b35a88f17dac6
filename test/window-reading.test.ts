// A reading of the in-process window is reused for a moment while nothing in it changes (a flood
// of 429s asks for one with each refusal). The promise: an estimate from a reused reading is never
// shorter than a fresh one, and longer by less than the reuse period.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createLocalWindow, READING_REUSE_MS, type Unit } from '../src/upstream/budget/window.ts';

const step = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), ms: fc.double({ min: 0, max: 40, noNaN: true }) }),
  fc.record({ kind: fc.constant('take' as const), leaveReserve: fc.boolean() }),
  fc.record({ kind: fc.constant('settle' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('cancel' as const), which: fc.nat() }),
  fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ kind: fc.constant('estimate' as const), unitsAhead: fc.integer({ min: 1, max: 12 }), leaveReserve: fc.boolean() }),
);

describe('a reading of the in-process window, reused', () => {
  it('is never shorter than a fresh reading, and longer by less than the reuse period, whatever was taken, settled, cancelled or paused (fast-check, seeded)', () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        let t = 0;
        const options = { limit: 4, windowMs: 100, burst: 3, holdMs: 250, now: () => t };
        // Driven alike: one reuses its readings, the other reads afresh every time.
        const reused = createLocalWindow(options);
        const fresh = createLocalWindow({ ...options, readingReuseMs: 0 });
        const units: Array<[Unit, Unit]> = [];
        for (const s of steps) {
          if (s.kind === 'advance') t += s.ms;
          else if (s.kind === 'take') {
            const a = reused.takeNow?.({ leaveReserve: s.leaveReserve });
            const b = fresh.takeNow?.({ leaveReserve: s.leaveReserve });
            assert.equal(a?.granted, b?.granted);
            if (a?.granted && b?.granted) units.push([a.unit, b.unit]);
          } else if (s.kind === 'settle' || s.kind === 'cancel') {
            const pair = units.splice(s.which % Math.max(1, units.length), 1)[0];
            for (const unit of pair ?? []) unit[s.kind]();
          } else if (s.kind === 'pause') {
            reused.pause(s.ms);
            fresh.pause(s.ms);
          } else {
            const mine = reused.estimateWaitMs(s.unitsAhead, s.leaveReserve);
            const truth = fresh.estimateWaitMs(s.unitsAhead, s.leaveReserve);
            assert.ok(mine >= truth, `reused ${mine} ms, fresh ${truth} ms at ${t}: too short`);
            assert.ok(mine - truth < READING_REUSE_MS, `reused ${mine} ms, fresh ${truth} ms at ${t}: too long`);
          }
        }
      }),
      { seed: 20261206, numRuns: 500 },
    );
  });

  it('When a unit is taken in the same instant as a reading, then the next estimate counts it', () => {
    const t = 0;
    const store = createLocalWindow({ limit: 2, windowMs: 1000, burst: 2, holdMs: 0, now: () => t });
    const first = store.takeNow?.();
    assert.ok(first?.granted);
    first.unit.settle(); // frees at 1001
    assert.equal(store.estimateWaitMs(2), 1000, 'the free unit, taken now, frees a window from now');
    assert.ok(store.takeNow?.().granted);
    assert.equal(store.estimateWaitMs(2), 1001, 'both in use: the second to free is the settled one');
  });
});
