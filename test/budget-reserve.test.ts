// The unit of the pace kept for callers with nothing waiting: a call whose caller has more
// waiting leaves it, so a light caller arriving during a flood is served at once, not after the
// next unit of the pace; never a unit of the window, which would sit idle (docs/TRAFFIC.md).
import assert from 'node:assert/strict';
import request from 'supertest';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { createLogger } from '../src/log.ts';
import { createRedisClient } from '../src/redis.ts';
import { createAdmission, type Permit } from '../src/upstream/admission.ts';
import { createRedisWindow } from '../src/upstream/budget/redis-window.ts';
import { createLocalWindow, type WindowStore } from '../src/upstream/budget/window.ts';
import { eventually, runReportPath, startHarness } from './support/harness.ts';
import { startRedis, type RedisServer } from './support/redis.ts';

const granted = async (store: WindowStore, leaveReserve: boolean) => (await store.take({ leaveReserve })).granted;

describe('the reserve in the in-process window', () => {
  it('When units are paced, then a take that leaves the reserve is refused the last free unit, and a take that may use it gets it', async () => {
    let t = 0;
    const store = createLocalWindow({ limit: 10, windowMs: 1000, burst: 3, holdMs: 0, now: () => t });
    assert.equal(await granted(store, true), true);
    assert.equal(await granted(store, true), true);
    assert.deepEqual(await store.take({ leaveReserve: true }), { granted: false, retryInMs: 100 }, 'one unit free: it is the reserve');
    assert.equal(await granted(store, false), true, 'the reserve itself');
    t = 100;
    assert.equal(await granted(store, true), false, 'the pace brought one unit back: it is the reserve again');
    t = 200;
    assert.equal(await granted(store, true), true, 'with two free, one goes');
  });

  it('When the window is full but for one unit, then a take that leaves the reserve gets it all the same: a unit of the window kept back would sit idle', async () => {
    let t = 0;
    const store = createLocalWindow({ limit: 3, windowMs: 1000, burst: 3, holdMs: 0, now: () => t });
    for (let i = 0; i < 2; i += 1) {
      const take = await store.take();
      assert.ok(take.granted);
      take.unit.settle();
    }
    t = 1000; // the pace is full again; the window still holds the two until 1001
    assert.equal(await granted(store, true), true);
    assert.equal(await granted(store, false), false, 'the window is full');
    assert.equal(store.estimateWaitMs(1, true), 1, 'a unit frees at 1001, whoever takes it');
  });

  it('When the burst is 1, then nothing is kept back: a reserve would leave nobody else a unit', async () => {
    const store = createLocalWindow({ limit: 10, windowMs: 1000, burst: 1, holdMs: 0, now: () => 0 });
    assert.equal(await granted(store, true), true);
    assert.equal(store.estimateWaitMs(1, true), 100, 'the next unit of the pace, nothing kept');
  });

  it('Estimates count the reserve for a call that leaves it', () => {
    const store = createLocalWindow({ limit: 10, windowMs: 1000, burst: 3, holdMs: 0, now: () => 0 });
    assert.equal(store.estimateWaitMs(3), 0, 'the burst, at once');
    assert.equal(store.estimateWaitMs(3, true), 100, 'the third of them leaving one behind: one unit of the pace later');
  });
});

describe('the reserve in the window shared through Redis', () => {
  let redis: RedisServer;
  const quiet = createLogger('silent', new Writable({ write: (_chunk, _encoding, done) => done() }));
  const sharedWindow = async (key: string, limit: number, windowMs: number, burst: number) => {
    const store = createRedisWindow({ redis: createRedisClient(redis.url), key, fallbackPercent: 50, logger: quiet, limit, windowMs, burst, holdMs: 1000 });
    await store.connected();
    assert.equal(store.status().mode, 'shared');
    return store;
  };
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis.stop();
  });

  it('When units are paced, then the script keeps the last free unit from a take that leaves the reserve', async () => {
    const store = await sharedWindow('reserve-paced', 10, 10_000, 3);
    try {
      assert.equal(await granted(store, true), true);
      assert.equal(await granted(store, true), true);
      const refused = await store.take({ leaveReserve: true });
      assert.ok(!refused.granted && refused.retryInMs > 900 && refused.retryInMs <= 1000, `refused until the pace brings one more: ${JSON.stringify(refused)}`);
      assert.equal(await granted(store, false), true, 'the reserve itself');
      assert.equal(await granted(store, false), false, 'and then nothing');
    } finally {
      await store.close();
    }
  });

  it('When the window is full but for one unit, then the script gives it to a take that leaves the reserve all the same', async () => {
    const store = await sharedWindow('reserve-window', 3, 1000, 3);
    try {
      for (let i = 0; i < 2; i += 1) {
        const take = await store.take();
        assert.ok(take.granted);
        take.unit.settle();
      }
      // Half a window later the pace has two units again (one every 333 ms); the window still holds the two.
      await sleep(500);
      assert.equal(await granted(store, true), true);
      assert.equal(await granted(store, false), false, 'the window is full');
    } finally {
      await store.close();
    }
  });
});

describe('admission and the reserve', () => {
  it('When a flood keeps calls waiting, then its calls leave the reserve, and a light caller arriving is served from it at once, before the pace brings another unit', async () => {
    let t = 0;
    const store = createLocalWindow({ limit: 10, windowMs: 1000, burst: 3, holdMs: 60_000, now: () => t });
    const gate = createAdmission({
      store, concurrency: { interactive: 100, export: 100 }, queueSize: 100, perCallerQueue: 100, exportsPerCaller: 100, queueWaitMs: 60_000, now: () => t,
    });
    const abort = new AbortController();
    const served: string[] = [];
    const ask = (name: string, caller: string) =>
      gate.acquire({ callClass: 'interactive', caller, signal: abort.signal }).then(
        (permit) => (served.push(name), permit),
        () => undefined,
      );
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    const running = [await ask('flood 1', 'flooder'), await ask('flood 2', 'flooder'), await ask('flood 3', 'flooder')] as Permit[];
    const waiting = [ask('flood 4', 'flooder'), ask('flood 5', 'flooder'), ask('flood 6', 'flooder')];
    await settle();
    assert.deepEqual(served, ['flood 1', 'flood 2', 'flood 3'], 'the burst went at once; the rest waits for the pace');
    t = 100;
    running[0]?.release(); // the queue is looked at again
    await settle();
    assert.deepEqual(served.slice(3), ['flood 4'], 'flood 4 waited alone: it may take the one unit the pace brought');
    t = 200;
    running[1]?.release();
    await settle();
    assert.deepEqual(served.slice(4), [], 'flood 5 has flood 6 behind it: it leaves the one free unit');
    const light = ask('light', 'light');
    await settle();
    assert.deepEqual(served.slice(4), ['light'], 'the light caller is served at once, with the clock where it was');
    // The flood now goes first (served longest ago), but it leaves the reserve, which the light caller's next call takes.
    const lightAgain = ask('light again', 'light');
    await settle();
    assert.deepEqual(served.slice(5), []);
    t = 300;
    running[2]?.release();
    await settle();
    assert.deepEqual(served.slice(5), ['light again'], 'the unit the pace brought back goes to the call that waited alone, not to nobody');
    t = 400;
    (await light)?.release();
    await settle();
    assert.deepEqual(served.slice(6), [], 'the pace brought the reserve back: the flood still leaves it');
    t = 500;
    (await lightAgain)?.release();
    await settle();
    assert.deepEqual(served.slice(6), ['flood 5'], 'and the next unit is the flood\'s');
    abort.abort(new Error('test over'));
    await Promise.all(waiting);
  });
});

describe('the reserve, through the gateway', () => {
  it('When a flood keeps calls waiting for the pace, then a light caller\'s call is sent upstream at once, ahead of the flood\'s next, and the flood gets the unit after', async () => {
    // One unit a second after a burst of 3: the order of the tenant's arrivals tells who got each.
    const h = await startHarness({
      env: { UPSTREAM_RATE_LIMIT: '10', UPSTREAM_RATE_WINDOW_MS: '10000', UPSTREAM_RATE_BURST: '3' },
      tenant: { rateLimit: { limit: 10, windowMs: 10_000 } },
    });
    try {
      const flooder = `Bearer ${await h.token({ sub: 'flooder', roles: ['CERT_ADMIN'] })}`;
      const light = `Bearer ${await h.token({ sub: 'light', roles: ['CERT_ADMIN'] })}`;
      const flood = Array.from({ length: 8 }, () => request(h.url).post(runReportPath()).set('Authorization', flooder).then((r) => r));
      // The burst's 3, then at 1 s the flood's first queued call, which waited alone.
      await eventually(() => h.tenant.requests.length >= 4, 'the flood is paced');
      // At 2 s the pace brings a unit that the flood's next call must leave: it has calls behind it.
      await sleep(1300);
      assert.equal(h.tenant.requests.length, 4, 'the flood left the unit of the 2nd second free');
      const lightCall = await request(h.url).post(runReportPath()).set('Authorization', light);
      assert.equal(lightCall.status, 202);
      assert.equal(h.tenant.requests.length, 5, 'the light call went upstream');
      const line = h.logs().find((l) => l.requestId === lightCall.headers['x-request-id'] && l.msg === 'request completed');
      assert.ok(line && (line.queueWaitMs as number) < 300, `the light call waited ${String(line?.queueWaitMs)} ms for budget (the next unit was about 700 ms away)`);
      // The pace brings the reserve back at 3 s, and at 4 s the flood's next unit.
      await eventually(() => h.tenant.requests.length >= 6, 'the flood is served again', 5000);
      await Promise.all(flood);
      assert.equal(h.tenant.rateLimited, 0);
    } finally {
      await h.close();
    }
  });
});
