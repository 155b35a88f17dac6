import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import request from 'supertest';
import { createAdmission, type CallClass, type Permit } from '../src/upstream/admission.ts';
import { createLocalWindow, unitWaits, type Take, type WindowStore } from '../src/upstream/budget/window.ts';
import { eventually, exportPath, runReportPath, startHarness } from './support/harness.ts';

const never = new AbortController().signal;

function admission(limit: number, windowMs: number, overrides: Partial<Parameters<typeof createAdmission>[0]> = {}) {
  const store = createLocalWindow({ limit, windowMs, burst: limit, holdMs: 1000 });
  return createAdmission({
    store,
    concurrency: { interactive: 100, export: 100 },
    queueSize: 100,
    perCallerQueue: 100,
    exportsPerCaller: 100,
    queueWaitMs: 5000,
    ...overrides,
  });
}

describe('the sliding-window arithmetic', () => {
  it('unitWaits: free units cost nothing; then each unit frees in order, and reuse costs a window', () => {
    assert.equal(unitWaits([], 3, 1000, 0)(3), 0);
    assert.equal(unitWaits([500], 3, 1000, 0)(2), 0);
    assert.equal(unitWaits([300, 100, 200], 3, 1000, 0)(1), 100);
    assert.equal(unitWaits([300, 100, 200], 3, 1000, 0)(3), 300);
    assert.equal(unitWaits([300, 100, 200], 3, 1000, 0)(4), 1100);
    assert.equal(unitWaits([500], 3, 1000, 0)(4), 1000, 'a unit free now, taken now, frees a window from now');
  });

  it('a unit settles windowMs after the answer, not after the take', async () => {
    let t = 0;
    const store = createLocalWindow({ limit: 1, windowMs: 1000, burst: 1, holdMs: 5000, now: () => t });
    const take = await store.take();
    assert.ok(take.granted);
    t = 300;
    assert.deepEqual(await store.take(), { granted: false, retryInMs: 5700 });
    take.unit.settle();
    assert.deepEqual(await store.take(), { granted: false, retryInMs: 1001 }, 'a window, plus 1 ms so clock rounding never frees it early');
    t = 1300;
    assert.equal((await store.take()).granted, false);
    t = 1301;
    assert.equal((await store.take()).granted, true);
  });
});

describe('estimates for calls in flight', () => {
  it('a unit whose answer is not in yet is expected to free a window from now, not after the whole attempt timeout too', async () => {
    let t = 0;
    const store = createLocalWindow({ limit: 2, windowMs: 1000, burst: 2, holdMs: 10_000, now: () => t });
    const inFlight = await store.take();
    const answered = await store.take();
    assert.ok(inFlight.granted && answered.granted);
    answered.unit.settle();
    t = 200;
    assert.equal(store.estimateWaitMs(1), 801, 'the answered unit frees first: a window and 1 ms after its answer');
    assert.equal(store.estimateWaitMs(2), 1001, 'the one in flight: a window from now, as if answered now (at its latest it would be 10 800)');
    assert.deepEqual(await store.take(), { granted: false, retryInMs: 801 });
  });
});

describe('a slow call does not hide freed units', () => {
  it('When the oldest unit is still held, then units that freed after it are reused', async () => {
    let t = 0;
    const store = createLocalWindow({ limit: 3, windowMs: 100, burst: 3, holdMs: 10_000, now: () => t });
    const slow = await store.take();
    assert.ok(slow.granted);
    for (let i = 0; i < 2; i += 1) {
      const quick = await store.take();
      assert.ok(quick.granted);
      quick.unit.settle();
    }
    t = 150;
    assert.equal((await store.take()).granted, true, 'a unit freed behind the slow one is found');
  });
});

describe('a very large window', () => {
  it('When a window of half a million units is full, then a take is refused with the wait for its first unit, not a stack overflow', () => {
    let t = 0;
    const limit = 500_000;
    // One unit a millisecond: pacing's arithmetic stays exact, so every take is granted.
    const store = createLocalWindow({ limit, windowMs: limit, burst: limit, holdMs: 0, now: () => t });
    let granted = 0;
    for (let i = 0; i < limit; i += 1) {
      const take = store.takeNow?.();
      if (take?.granted) {
        take.unit.settle();
        granted += 1;
      }
    }
    assert.equal(granted, limit);
    t = 1000;
    assert.deepEqual(store.takeNow?.(), { granted: false, retryInMs: limit + 1 - 1000 });
  });
});

describe('pacing within the window', () => {
  it('hands out `burst` units at once, then one every windowMs / limit', async () => {
    let t = 0;
    const store = createLocalWindow({ limit: 10, windowMs: 1000, burst: 3, holdMs: 0, now: () => t });
    for (let i = 0; i < 3; i += 1) assert.equal((await store.take()).granted, true);
    assert.deepEqual(await store.take(), { granted: false, retryInMs: 100 });
    assert.equal(store.estimateWaitMs(1), 100);
    assert.equal(store.estimateWaitMs(3), 300);
    t = 100;
    assert.equal((await store.take()).granted, true);
    assert.equal((await store.take()).granted, false);
  });

  it('pacing never lifts the hard window: at most `limit` units in any window', async () => {
    let t = 0;
    const store = createLocalWindow({ limit: 4, windowMs: 1000, burst: 4, holdMs: 0, now: () => t });
    const granted: number[] = [];
    for (t = 0; t < 3000; t += 10) {
      const take = await store.take();
      if (take.granted) {
        granted.push(t);
        take.unit.settle();
      }
    }
    for (const start of granted) assert.ok(granted.filter((g) => g >= start && g < start + 1000).length <= 4);
    assert.ok(granted.length >= 10, `${granted.length} units in 3 s`);
  });
});

/** A call per run(caller) through `gate`, each released at once; `order` is who was served when. */
function servingOrder(gate: ReturnType<typeof admission>) {
  const order: string[] = [];
  const run = async (caller: string) => {
    const permit = await gate.acquire({ callClass: 'interactive', caller, signal: never });
    order.push(caller);
    permit.release();
  };
  return { order, run };
}

/**
 * A budget store the test drives: it grants only the units the test opens, estimates one unit per
 * 100 ms whatever the clock, and lets the test announce a change as a freed unit would.
 */
function scriptedStore({ answersAtOnce = false } = {}) {
  let units = 0;
  let listener = () => {};
  const unit = { settle() {}, cancel() {} };
  const estimate = (unitsAhead: number) => unitsAhead * 100;
  const takeNow = (): Take => (units > 0 ? ((units -= 1), { granted: true, unit }) : { granted: false, retryInMs: 60_000 });
  const store: WindowStore = {
    take: async () => takeNow(),
    // With it, admission serves a call on arrival when nobody waits, as it does over the local window.
    ...(answersAtOnce ? { takeNow } : {}),
    pause() {},
    estimateWaitMs: estimate,
    estimator: () => estimate,
    onChange: (changed) => void (listener = changed),
    status: () => ({ mode: 'local', ready: true, degraded: false, detail: 'test' }),
    async close() {},
  };
  return { store, open: (n: number) => void (units += n), changed: () => listener() };
}

/**
 * Admission over a scriptedStore, with a clock the test sets: wait(name, caller) asks for a unit
 * and notes in `settled` whether it was served (and releases it) or refused (by status).
 */
function scriptedGate(queueWaitMs: number, now: () => number, storeOptions: Parameters<typeof scriptedStore>[0] = {}) {
  const { store, changed, open } = scriptedStore(storeOptions); // estimates 100 ms per unit
  const gate = createAdmission({
    store, concurrency: { interactive: 10, export: 10 }, queueSize: 10, perCallerQueue: 10, exportsPerCaller: 10, queueWaitMs, now,
  });
  const abort = new AbortController();
  const settled: string[] = [];
  const wait = (name: string, caller: string) =>
    gate.acquire({ callClass: 'interactive', caller, signal: abort.signal }).then(
      (permit) => (settled.push(`${name} served`), permit.release()),
      (error: { status?: number }) => void settled.push(`${name} ${error.status ?? 'gone'}`),
    );
  /** Lets the calls made so far run up to their first wait. */
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { gate, changed, open, wait, settled, settle, abort };
}

describe('admission', () => {
  it('A newcomer is estimated at its round-robin position: its own calls, each other caller\'s as many, and every interactive call ahead of an export (fast-check, seeded)', async () => {
    const arrival = fc.record({ caller: fc.constantFrom('a', 'b', 'c', 'd'), callClass: fc.constantFrom<CallClass>('interactive', 'export') });
    await fc.assert(
      fc.asyncProperty(fc.array(arrival, { maxLength: 40 }), async (arrivals) => {
        // Nothing is ever granted, so every call waits; the position asked for each is recorded.
        const asked: number[] = [];
        const store: WindowStore = {
          take: async () => ({ granted: false, retryInMs: 60_000 }),
                pause() {},
          estimateWaitMs: (unitsAhead) => (asked.push(unitsAhead), 0),
          estimator: () => () => 0,
          onChange() {},
          status: () => ({ mode: 'local', ready: true, degraded: false, detail: 'test' }),
          async close() {},
        };
        const gate = createAdmission({ store, concurrency: { interactive: 0, export: 0 }, queueSize: 1000, perCallerQueue: 1000, exportsPerCaller: 1000, queueWaitMs: 600_000 });
        const abort = new AbortController();
        const queued = new Map<string, number>();
        const expected: number[] = [];
        const waits = arrivals.map(({ caller, callClass }) => {
          const own = (queued.get(`${callClass} ${caller}`) ?? 0) + 1;
          let ahead = 0;
          for (const [key, n] of queued) {
            const [otherClass, other] = key.split(' ');
            if (otherClass === callClass && other !== caller) ahead += Math.min(n, own);
            if (callClass === 'export' && otherClass === 'interactive') ahead += n;
          }
          expected.push(ahead + own);
          queued.set(`${callClass} ${caller}`, own);
          return gate.acquire({ callClass, caller, signal: abort.signal }).catch(() => undefined);
        });
        abort.abort();
        await Promise.all(waits);
        assert.deepEqual(asked, expected);
      }),
      { seed: 20261202, numRuns: 200 },
    );
  });

  it('When one caller floods, then another caller is still served next (round-robin across callers)', async () => {
    const gate = admission(1, 200);
    const { order, run } = servingOrder(gate);
    const flood = Array.from({ length: 6 }, () => run('flooder'));
    const light = run('light');
    await Promise.all([...flood, light]);
    assert.ok(order.indexOf('light') <= 2, `light served at position ${order.indexOf('light')}: ${order.join(',')}`);
  });

  it('When a light caller arrives during a flood, then it gets the very next unit: the waiting caller served longest ago goes first', async () => {
    const gate = admission(1, 100);
    const { order, run } = servingOrder(gate);
    const flood = Array.from({ length: 6 }, () => run('flooder'));
    await eventually(() => order.length >= 2, 'the flood is being served');
    const light = run('light');
    await Promise.all([...flood, light]);
    assert.equal(order.indexOf('light'), 2, `served in this order: ${order.join(',')}`);
  });

  it('When the wait would exceed the limit, then the call is refused at once with an honest Retry-After', async () => {
    const gate = admission(2, 10_000, { queueWaitMs: 1000 });
    const permits: Permit[] = [];
    permits.push(await gate.acquire({ callClass: 'interactive', caller: 'a', signal: never }));
    permits.push(await gate.acquire({ callClass: 'interactive', caller: 'a', signal: never }));
    for (const p of permits) p.release();
    await assert.rejects(gate.acquire({ callClass: 'interactive', caller: 'b', signal: never }), (error: { status: number; retryAfterS: number }) => {
      assert.equal(error.status, 429);
      // The unit frees 10 001 ms from now (the window plus the 1 ms safety): whole seconds round up.
      assert.ok(error.retryAfterS >= 10 && error.retryAfterS <= 11, `Retry-After ${error.retryAfterS}`);
      return true;
    });
    assert.equal(gate.stats().shed, 1);
    assert.deepEqual(gate.stats().queued, { interactive: 0, export: 0 });
  });

  it('The queue is bounded overall and per caller: excess is shed, never queued', async () => {
    const gate = admission(1, 60_000, { queueSize: 5, perCallerQueue: 3, queueWaitMs: 600_000 });
    const first = await gate.acquire({ callClass: 'interactive', caller: 'a', signal: never });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => {
        const abort = new AbortController();
        const pending = gate.acquire({ callClass: 'interactive', caller: i < 6 ? 'a' : `c${i}`, signal: abort.signal });
        setTimeout(() => abort.abort(new Error('test over')), 50);
        return pending;
      }),
    );
    const shed = outcomes.filter((o) => o.status === 'rejected' && (o.reason as { status?: number }).status === 429).length;
    assert.equal(shed, 5, 'a: 3 queued + 3 shed; others: 2 queued (total 5) + 2 shed');
    first.release();
  });

  it('refusalNow answers the refusal acquire() would give at once, without queueing the call or spending budget; none while the call might be served at once', async () => {
    const gate = admission(1, 60_000, { perCallerQueue: 2, queueSize: 3, queueWaitMs: 600_000, exportsPerCaller: 1 });
    assert.equal(gate.refusalNow({ callClass: 'interactive', caller: 'a' }), undefined, 'a unit is free');
    const first = await gate.acquire({ callClass: 'interactive', caller: 'a', signal: never });
    assert.equal(gate.refusalNow({ callClass: 'interactive', caller: 'a' }), undefined, 'nothing waits: acquire decides, against a fresh reading');
    const abort = new AbortController();
    const queued = [0, 1].map(() => gate.acquire({ callClass: 'interactive', caller: 'a', signal: abort.signal }).catch((e: unknown) => e));
    const before = gate.stats();
    const early = gate.refusalNow({ callClass: 'interactive', caller: 'a' });
    assert.deepEqual({ status: early?.status, message: early?.message }, { status: 429, message: 'Too many of your calls are waiting; try again later.' });
    const late = (await gate.acquire({ callClass: 'interactive', caller: 'a', signal: never }).catch((e: unknown) => e)) as typeof early;
    assert.deepEqual({ message: early?.message, retryAfterS: early?.retryAfterS }, { message: late?.message, retryAfterS: late?.retryAfterS }, 'the same refusal, the same Retry-After');
    assert.deepEqual(gate.stats().queued, before.queued, 'nothing queued by asking');
    assert.equal(gate.stats().shed, before.shed + 2, 'both counted as shed');
    assert.equal(gate.refusalNow({ callClass: 'interactive', caller: 'b' }), undefined, 'another caller may still wait its turn');
    const third = gate.acquire({ callClass: 'interactive', caller: 'b', signal: abort.signal }).catch((e: unknown) => e);
    assert.equal(gate.refusalNow({ callClass: 'interactive', caller: 'c' })?.message, 'The gateway is at capacity; try again later.');
    abort.abort(new Error('test over'));
    await Promise.all([...queued, third]);
    first.release();
    const exports = admission(10, 60_000, { exportsPerCaller: 1 });
    const held = await exports.acquire({ callClass: 'export', caller: 'd', signal: never });
    assert.match(exports.refusalNow({ callClass: 'export', caller: 'd' })?.message ?? '', /You already hold 1 downloads at once/, 'the export share, as acquire checks it first');
    assert.equal(exports.refusalNow({ callClass: 'export', caller: 'e' }), undefined);
    held.release();
  });

  it('refusalNow refuses a call that could only wait past its queue wait, as acquire does', async () => {
    // One unit a second: b can have it within the wait, c only a window after b.
    const gate = admission(1, 1000, { queueWaitMs: 1500 });
    const first = await gate.acquire({ callClass: 'interactive', caller: 'a', signal: never });
    first.release();
    const abort = new AbortController();
    const waiting = gate.acquire({ callClass: 'interactive', caller: 'b', signal: abort.signal }).catch((e: unknown) => e);
    const early = gate.refusalNow({ callClass: 'interactive', caller: 'c' });
    assert.equal(early?.message, 'The SailPoint budget is spent for now; try again later.');
    assert.equal(early?.retryAfterS, 3, 'about 2 s away, in whole seconds rounded up');
    abort.abort(new Error('test over'));
    await waiting;
  });

  it('Interactive calls go before exports, and exports have their own concurrency limit', async () => {
    const gate = admission(1, 100, { concurrency: { interactive: 10, export: 1 } });
    const order: string[] = [];
    const holder = await gate.acquire({ callClass: 'interactive', caller: 'x', signal: never });
    const take = (callClass: CallClass, name: string) =>
      gate.acquire({ callClass, caller: name, signal: never }).then((permit) => {
        order.push(name);
        return permit;
      });
    const exportCall = take('export', 'export-1');
    const interactiveCall = take('interactive', 'interactive-1');
    holder.release();
    const [e1, i1] = await Promise.all([exportCall, interactiveCall]);
    assert.deepEqual(order, ['interactive-1', 'export-1']);
    i1.release();
    // export-1 still streams (not released): a second export waits for its slot, not for budget.
    const export2 = take('export', 'export-2');
    const interactive2 = await take('interactive', 'interactive-2');
    interactive2.release();
    assert.deepEqual(gate.stats().running, { interactive: 0, export: 1 });
    assert.equal(gate.stats().queued.export, 1);
    e1.release();
    (await export2).release();
    assert.deepEqual(order, ['interactive-1', 'export-1', 'interactive-2', 'export-2']);
  });

  it('When a newcomer is served first and the oldest waiter can no longer make its deadline, then it is refused at once, though later waiters can still make theirs', async () => {
    let t = 0;
    const { gate, changed, wait, settled, abort } = scriptedGate(1000, () => t);
    const oldest = wait('oldest', 'flooder'); // due by 1000; its estimate: 100
    t = 800;
    const newer = wait('newer', 'flooder'); // due by 1800; its estimate: 200
    t = 850;
    // The light caller goes first: the oldest now needs 200 ms and has 150 left; the newer needs 300 of its 950.
    const light = wait('light', 'light');
    changed();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(settled, ['oldest 429'], 'refused when it became hopeless, not at its deadline');
    assert.deepEqual(gate.stats().queued.interactive, 2);
    abort.abort(new Error('test over'));
    await Promise.all([oldest, newer, light]);
  });

  it('When a newcomer pushes two calls of a flood past their deadlines, then only the first is refused: the second moves up into its place and still makes it', async () => {
    let t = 0;
    const { gate, changed, wait, settled, abort } = scriptedGate(250, () => t);
    const calls = [wait('first', 'flooder')]; // due by 250; estimate 100
    t = 40;
    calls.push(wait('second', 'flooder')); // due by 290; estimate 200
    t = 60;
    // The light caller goes first: the first needs 200 of its 190 ms left, the second 300 of 230.
    // With the first refused, the second is second again: 200 of 230.
    calls.push(wait('light', 'light'));
    changed();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(settled, ['first 429']);
    assert.equal(gate.stats().queued.interactive, 2, 'the second and the light call wait');
    abort.abort(new Error('test over'));
    await Promise.all(calls);
  });

  it('When light callers have been served ahead of a flood, then the flood\'s next call is admitted only if it would still make it with as many going ahead again', async () => {
    let t = 0;
    const { gate, changed, open, wait: call, settled: outcomes, settle, abort } = scriptedGate(250, () => t);
    open(1);
    const calls = [call('flood 1', 'flooder')];
    await settle();
    calls.push(call('flood 2', 'flooder')); // waits: 100 ms
    open(1);
    calls.push(call('light 1', 'light')); // waited alone, served ahead of flood 2
    changed();
    await settle();
    assert.deepEqual(outcomes, ['flood 1 served', 'light 1 served']);
    // Flood 3 would be second (200 ms), and third if a light call goes ahead again (300 ms): over 250.
    calls.push(call('flood 3', 'flooder'));
    await settle();
    assert.deepEqual(outcomes.slice(2), ['flood 3 429'], 'refused at once, not queued to be pushed past its deadline');
    t = 256; // the light call was served more than a queue wait (and the fiftieth of one its count is kept too long) ago: nothing is reserved for it any more
    calls.push(call('flood 4', 'flooder'));
    await settle();
    assert.ok(!outcomes.includes('flood 4 429'), `flood 4 waits: ${outcomes.join(', ')}`);
    calls.push(call('light 2', 'light')); // waits alone: nothing is reserved against it
    await settle();
    assert.ok(!outcomes.includes('light 2 429'), `light 2 waits: ${outcomes.join(', ')}`);
    assert.equal(gate.stats().queued.interactive, 2);
    abort.abort(new Error('test over'));
    await Promise.all(calls);
  });

  for (const [how, answersAtOnce] of [['on arrival', true], ['after waiting alone', false]] as const) {
    it(`When a light caller was served ${how} before a flood began, then the flood's calls are admitted expecting it again, not pushed past their deadlines by it`, async () => {
      let t = 0;
      const { gate, changed, open, wait: call, settled: outcomes, settle, abort } = scriptedGate(250, () => t, { answersAtOnce });
      open(1);
      const calls = [call('light 1', 'light')]; // nobody else waits
      await settle();
      t = 5;
      open(1);
      calls.push(call('flood 0', 'flooder'));
      await settle();
      t = 10;
      calls.push(call('flood 1', 'flooder')); // first in the queue: 100 ms
      // Second (200 ms), and third if the light caller goes ahead again (300 ms): over 250.
      calls.push(call('flood 2', 'flooder'));
      await settle();
      assert.deepEqual(outcomes, ['light 1 served', 'flood 0 served', 'flood 2 429'], 'refused at once');
      t = 100;
      open(1);
      calls.push(call('light 2', 'light')); // served longest ago: it goes first
      changed();
      await settle();
      assert.deepEqual(outcomes.slice(3), ['light 2 served'], 'no flood call refused late');
      assert.equal(gate.stats().queued.interactive, 1, 'flood 1 waits, and still makes its deadline');
      abort.abort(new Error('test over'));
      await Promise.all(calls);
    });
  }

  it('When a call\'s unit arrives just as its queue wait ends, then it is served, not refused by the deadline firing first', async () => {
    const { store, changed, open } = scriptedStore(); // estimates 100 ms per unit
    const gate = createAdmission({
      store, concurrency: { interactive: 10, export: 10 }, queueSize: 10, perCallerQueue: 10, exportsPerCaller: 10, queueWaitMs: 100, now: () => 0,
    });
    const waiting = gate.acquire({ callClass: 'interactive', caller: 'a', signal: never }); // due at 100 ms: it fits
    await new Promise((resolve) => setTimeout(resolve, 105)); // the unit comes 5 ms late, as timers do
    open(1);
    changed();
    (await waiting).release();
  });

  it('When the caller goes away while queued, then it leaves the queue and takes no budget', async () => {
    const gate = admission(1, 1000);
    const holder = await gate.acquire({ callClass: 'interactive', caller: 'a', signal: never });
    const abort = new AbortController();
    const waiting = gate.acquire({ callClass: 'interactive', caller: 'b', signal: abort.signal });
    abort.abort(new Error('caller went away'));
    await assert.rejects(waiting, /caller went away/);
    assert.deepEqual(gate.stats().queued, { interactive: 0, export: 0 });
    holder.release();
  });
});

describe('traffic control through the gateway', () => {
  it('When one caller floods at ten times the budget, then a light caller is still served and the excess is refused at once', async () => {
    const h = await startHarness({
      env: { UPSTREAM_RATE_LIMIT: '5', UPSTREAM_RATE_WINDOW_MS: '1000', UPSTREAM_QUEUE_WAIT_MS: '2500', UPSTREAM_QUEUE_PER_CALLER: '5' },
      tenant: { rateLimit: { limit: 5, windowMs: 1000 } },
    });
    try {
      const flooder = `Bearer ${await h.token({ sub: 'flooder', roles: ['CERT_ADMIN'] })}`;
      const light = `Bearer ${await h.token({ sub: 'light', roles: ['CERT_ADMIN'] })}`;
      const arrivalsAtRefusal: number[] = [];
      const flood = Array.from({ length: 50 }, () =>
        request(h.url)
          .post(runReportPath())
          .set('Authorization', flooder)
          .then((r) => {
            if (r.status === 429) arrivalsAtRefusal.push(h.tenant.requests.length);
            return r;
          }),
      );
      await eventually(() => h.tenant.requests.length >= 5, 'the first window is used');
      const lightCalls = await Promise.all(Array.from({ length: 2 }, () => request(h.url).post(runReportPath()).set('Authorization', light)));
      const floodResults = await Promise.all(flood);
      assert.deepEqual(lightCalls.map((r) => r.status), [202, 202]);
      const refused = floodResults.filter((r) => r.status === 429);
      assert.ok(refused.length >= 35, `${refused.length} flood calls refused`);
      for (const r of refused) {
        assert.deepEqual(r.body, { message: 'Rate Limit Exceeded' });
        assert.ok(Number(r.headers['retry-after']) >= 1);
      }
      // Most refusals came before the first window even freed: they did not wait to be refused.
      assert.ok(arrivalsAtRefusal.filter((n) => n <= 5).length >= 30);
      assert.equal(h.tenant.rateLimited, 0);
    } finally {
      await h.close();
    }
  });

  it('When a caller\'s queue is full, then its new calls are refused 429 at once, and a repeat with an Idempotency-Key is still answered from its first call', async () => {
    const h = await startHarness({ env: { UPSTREAM_RATE_LIMIT: '1', UPSTREAM_RATE_WINDOW_MS: '60000', UPSTREAM_RATE_BURST: '1', UPSTREAM_QUEUE_WAIT_MS: '120000', UPSTREAM_QUEUE_PER_CALLER: '1' } });
    const abort = new AbortController();
    try {
      const alice = `Bearer ${await h.token({ sub: 'alice', roles: ['CERT_ADMIN'] })}`;
      const first = await request(h.url).post(runReportPath()).set('Authorization', alice).set('Idempotency-Key', 'k-full-queue');
      assert.equal(first.status, 202);
      // The window's one unit is spent: this call waits for it, filling alice's queue.
      const waiting = fetch(`${h.url}${runReportPath()}`, { method: 'POST', headers: { authorization: alice }, signal: abort.signal }).catch((e: Error) => e);
      for (let tries = 0; !/^gateway_budget_queued 1$/m.test((await request(h.url).get('/metrics')).text); tries += 1) {
        assert.ok(tries < 500, 'the second call never queued');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const refused = await request(h.url).post(runReportPath()).set('Authorization', alice);
      assert.deepEqual({ status: refused.status, body: refused.body }, { status: 429, body: { message: 'Rate Limit Exceeded' } });
      assert.ok(Number(refused.headers['retry-after']) >= 59, `Retry-After ${refused.headers['retry-after']}`);
      const repeat = await request(h.url).post(runReportPath()).set('Authorization', alice).set('Idempotency-Key', 'k-full-queue');
      assert.deepEqual({ status: repeat.status, body: repeat.body, replayed: repeat.headers['idempotent-replayed'] }, { status: 202, body: first.body, replayed: 'true' });
      assert.equal(h.tenant.requests.length, 1, 'only the first call went upstream');
      abort.abort();
      await waiting;
    } finally {
      abort.abort();
      await h.close();
    }
  });

  it('When one caller sends a one-shot burst of 6x the limit, then the budget it could use within the queue wait is used, and a light caller arriving mid-burst is served', async () => {
    const limit = 20;
    const windowMs = 2000;
    const queueWaitMs = 5000; // UPSTREAM_QUEUE_WAIT_MS's default; every other setting at its default too
    const h = await startHarness({
      env: { UPSTREAM_RATE_LIMIT: String(limit), UPSTREAM_RATE_WINDOW_MS: String(windowMs) },
      tenant: { rateLimit: { limit, windowMs } },
    });
    try {
      const burster = `Bearer ${await h.token({ sub: 'burster', roles: ['CERT_ADMIN'] })}`;
      const light = `Bearer ${await h.token({ sub: 'light', roles: ['CERT_ADMIN'] })}`;
      // .then() sends it now: a supertest request goes out only when awaited.
      const burst = Array.from({ length: 6 * limit }, () => request(h.url).post(runReportPath()).set('Authorization', burster).then((r) => r));
      await eventually(() => h.tenant.requests.length >= 30, 'the burst is half served');
      const lightCall = await request(h.url).post(runReportPath()).set('Authorization', light);
      const results = await Promise.all(burst);
      assert.equal(lightCall.status, 202, 'the light caller is served within its wait limit');
      const served = results.filter((r) => r.status === 202).length;
      assert.equal(served + results.filter((r) => r.status === 429).length, results.length);
      // A sliding window lets at most `limit` calls into any windowMs, so within the queue wait the
      // budget can hand out limit x ceil(queueWaitMs / windowMs) units: 60 here. The tenant counts
      // what it received: the burst's calls plus the light caller's.
      const capacity = limit * Math.ceil(queueWaitMs / windowMs);
      const used = h.tenant.requests.filter((r) => r.method === 'POST').length;
      assert.equal(used, served + 1);
      assert.ok(used >= 0.9 * capacity, `${used} of ${capacity} units used (${served} of the burst served)`);
      assert.equal(h.tenant.rateLimited, 0);
    } finally {
      await h.close();
    }
  });

  it('When an export streams slowly, then it holds an export slot, not the slots interactive calls need', async () => {
    const h = await startHarness({
      env: { UPSTREAM_EXPORT_CONCURRENCY: '1', UPSTREAM_MAX_CONCURRENCY: '1', UPSTREAM_QUEUE_WAIT_MS: '300', STREAM_IDLE_TIMEOUT_MS: '5000' },
      tenant: { sources: { s: { kind: 'bulk', blocks: 10, contentLength: false } } },
    });
    try {
      const caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
      h.tenant.addFault('export', { kind: 'stall-body', afterBytes: 1000 });
      const stalled = request(h.url).get(exportPath('s')).set('Authorization', caller).then((r) => r, (e: Error) => e);
      await eventually(() => h.tenant.exports.started === 1, 'the export started');
      const interactive = await request(h.url).post(runReportPath()).set('Authorization', caller);
      assert.equal(interactive.status, 202);
      const second = await request(h.url).get(exportPath('s')).set('Authorization', caller);
      assert.equal(second.status, 429, 'a second export waits for the one export slot and is refused after the wait limit');
      void stalled;
    } finally {
      await h.close();
    }
  });
});
