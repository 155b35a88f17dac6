import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnitLedger } from '../src/upstream/budget/ledger.ts';

const freeTimes = (ledger: UnitLedger) => [...ledger.inUse()].map((unit) => unit.freeAt);

describe('the ledger of units in use', () => {
  it('When the oldest unit is still in use, then a plain purge stops there and a full one frees what is due behind it', () => {
    const ledger = new UnitLedger();
    ledger.add(500); // a slow call, settled late
    ledger.add(100);
    ledger.add(200);
    ledger.purge(300);
    assert.equal(ledger.size, 3);
    ledger.purge(300, true);
    assert.equal(ledger.size, 1);
    assert.deepEqual(freeTimes(ledger), [500]);
  });

  it('freeTimes gives the units in use oldest first, skips released ones, and caps only pending units', () => {
    const ledger = new UnitLedger();
    const slow = ledger.add(900); // pending: its call is not answered yet
    const settled = ledger.add(400);
    settled.pending = false;
    const gone = ledger.add(50);
    ledger.add(300, true); // seeded: never pending
    ledger.release(gone);
    assert.deepEqual([...ledger.freeTimes()], [900, 400, 300]);
    assert.deepEqual([...ledger.freeTimes(600)], [600, 400, 300], 'the pending unit at most 600');
    slow.pending = false;
    assert.deepEqual([...ledger.freeTimes(600)], [900, 400, 300], 'a settled unit keeps its own time');
    assert.deepEqual([...ledger.freeTimes(600)], freeTimes(ledger));
  });

  it('earliestFree is the soonest free time of the units in use, pending or not, released ones skipped', () => {
    const ledger = new UnitLedger();
    assert.equal(ledger.earliestFree(), Infinity);
    ledger.add(900);
    const gone = ledger.add(50);
    ledger.add(300, true);
    ledger.release(gone);
    assert.equal(ledger.earliestFree(), 300);
  });

  it('When units free in order, then they leave from the front and a released unit is never counted twice', () => {
    const ledger = new UnitLedger();
    const units = [10, 20, 30].map((at) => ledger.add(at));
    ledger.release(units[1]!);
    ledger.release(units[1]!);
    assert.equal(ledger.size, 2);
    ledger.purge(15);
    assert.deepEqual(freeTimes(ledger), [30]);
    ledger.purge(30);
    assert.equal(ledger.size, 0);
  });

  it('When tens of thousands of units come and go, then only those in use are kept, oldest first, with a later free time honoured', () => {
    const ledger = new UnitLedger();
    const longHeld = ledger.add(1e9);
    for (let i = 0; i < 50_000; i += 1) {
      ledger.add(i);
      ledger.purge(i - 100, true);
    }
    longHeld.freeAt = 5; // settled: frees with the rest
    ledger.purge(49_900);
    assert.equal(ledger.size, 99);
    assert.deepEqual(freeTimes(ledger), Array.from({ length: 99 }, (_, i) => 49_901 + i));
  });

  it('When seeded units are added, then they count as in use and say they are seeded', () => {
    const ledger = new UnitLedger();
    ledger.add(100, true);
    ledger.add(100);
    assert.equal(ledger.size, 2);
    assert.deepEqual([...ledger.inUse()].map((unit) => unit.seeded), [true, false]);
  });
});
