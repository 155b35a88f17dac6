// The sliding window shared by every replica through Redis: a sorted set of units, scored by the
// time each frees, kept by Lua scripts that read Redis's own clock (replicas' clocks never
// matter) and drop units once they have freed. A replica that dies mid-call loses nothing: its
// units free by themselves when their provisional time runs out.
//
// When Redis is unreachable the replica falls back to a local window holding a share of the
// budget, starting as if that share had just been spent (it cannot see what the others did), and
// when Redis returns it writes the units it used meanwhile back into the shared window.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.ts';
import { createLocalWindow, reserveOf, type Estimate, type Take, type TakeOptions, type WindowOptions, type WindowStatus, type WindowStore } from './window.ts';

const NOW = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: units, pause, pacing (GCRA theoretical arrival time).
// ARGV: limit, windowMs, holdMs, unit id, intervalMs, burst, units of the pace that must stay free after this one.
// Returns: granted (0/1), retry in ms, units in use, ms until the earliest unit frees, ms paused,
// ms of pacing delay (for one unit, whatever is kept).
const TAKE = `${NOW}
local limit, windowMs, holdMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local interval, burst, keep = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local pausedFor = math.max(0, tonumber(redis.call('GET', KEYS[2]) or '0') - now)
local count = redis.call('ZCARD', KEYS[1])
local earliest = 0
if count > 0 then earliest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]) - now end
local tat = math.max(tonumber(redis.call('GET', KEYS[3]) or '0'), now)
local pace = math.max(0, tat - now - (burst - 1) * interval)
if pausedFor > 0 then return {0, pausedFor, count, earliest, pausedFor, pace} end
if count >= limit then return {0, math.max(1, earliest), count, earliest, 0, pace} end
local paceKept = math.max(0, tat - now - (burst - 1 - keep) * interval)
if paceKept > 0 then return {0, math.ceil(paceKept), count, earliest, 0, pace} end
redis.call('SET', KEYS[3], tostring(tat + interval), 'PX', math.ceil(windowMs + burst * interval))
redis.call('ZADD', KEYS[1], now + holdMs + windowMs, ARGV[4])
redis.call('PEXPIRE', KEYS[1], holdMs + windowMs * 2)
return {1, 0, count + 1, earliest, 0, 0}
`;

// KEYS: units. ARGV: windowMs, unit id. The unit frees one window from now (if it still exists).
const SETTLE = `${NOW}
-- +1: Redis time is read in whole milliseconds here; never free a unit early.
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]) + 1, ARGV[2])
return 1
`;

// KEYS: pause. ARGV: ms. Extends the shared pause, never shortens it.
const PAUSE = `${NOW}
local untilMs = now + tonumber(ARGV[1])
if untilMs > tonumber(redis.call('GET', KEYS[1]) or '0') then redis.call('SET', KEYS[1], untilMs, 'PX', ARGV[1]) end
return 1
`;

// KEYS: units. ARGV: pairs of unit id and ms until it frees.
const REJOIN = `${NOW}
for i = 1, #ARGV, 2 do redis.call('ZADD', KEYS[1], 'NX', now + tonumber(ARGV[i + 1]), ARGV[i]) end
return 1
`;

interface BudgetCommands {
  budgetTake(units: string, pause: string, pacing: string, limit: number, windowMs: number, holdMs: number, id: string, intervalMs: number, burst: number, keep: number): Promise<number[]>;
  budgetSettle(units: string, windowMs: number, id: string): Promise<number>;
  budgetPause(pause: string, ms: number): Promise<number>;
  budgetRejoin(units: string, ...pairs: Array<string | number>): Promise<number>;
}

export interface RedisWindowOptions extends WindowOptions {
  /** A client made by createRedisClient, not yet connected: this window connects it. */
  redis: Redis;
  /** Share of the limit (percent) used alone while Redis is unreachable. */
  fallbackPercent: number;
  /** Budget keys: every replica of one gateway (one SailPoint client id) uses the same. */
  key: string;
  logger: Logger;
}

export function createRedisWindow(options: RedisWindowOptions): WindowStore & { connected(): Promise<void> } {
  const units = `${options.key}:units`;
  const pauseKey = `${options.key}:pause`;
  const pacingKey = `${options.key}:pacing`;
  const intervalMs = options.windowMs / options.limit;
  const replica = randomUUID();
  const fallbackLimit = Math.max(1, Math.floor((options.limit * options.fallbackPercent) / 100));
  const local = createLocalWindow({
    ...options,
    limit: fallbackLimit,
    burst: Math.max(1, Math.floor((options.burst * options.fallbackPercent) / 100)),
  });
  const listeners: Array<() => void> = [];
  // 'connecting' serves from the local share like 'fallback', but starts empty: nothing was
  // shared yet, and what it spends is written into Redis once connected.
  let mode: 'connecting' | 'shared' | 'fallback' = 'connecting';
  let lastError = 'not connected yet';
  let snapshot = { atMs: 0, count: 0, earliestMs: 0, pausedMs: 0, paceMs: 0 };
  let localPauseUntil = 0;
  let nextId = 0;
  let decided: () => void = () => {};
  const firstDecision = new Promise<void>((resolve) => (decided = resolve));

  const { redis } = options;
  redis.defineCommand('budgetTake', { numberOfKeys: 3, lua: TAKE });
  redis.defineCommand('budgetSettle', { numberOfKeys: 1, lua: SETTLE });
  redis.defineCommand('budgetPause', { numberOfKeys: 1, lua: PAUSE });
  redis.defineCommand('budgetRejoin', { numberOfKeys: 1, lua: REJOIN });
  const commands = redis as unknown as BudgetCommands;

  function enterFallback(error: unknown): void {
    lastError = error instanceof Error ? error.message : String(error);
    decided();
    if (mode === 'fallback') return;
    mode = 'fallback';
    // Others may have spent the whole window just now: start as if our share were spent too.
    local.seed(Array.from({ length: fallbackLimit }, () => options.windowMs));
    options.logger.warn({ err: lastError, fallbackLimit, windowMs: options.windowMs }, 'Redis unreachable: upstream budget falls back to a local share');
  }

  async function rejoin(): Promise<void> {
    try {
      const pairs = local.spentRemainingMs().flatMap((remainingMs) => [`${replica}:fallback:${nextId++}`, Math.max(1, Math.ceil(remainingMs))]);
      if (pairs.length > 0) await commands.budgetRejoin(units, ...pairs);
      mode = 'shared';
      lastError = '';
      decided();
      options.logger.info({ carriedUnits: pairs.length / 2 }, 'Redis reachable: upstream budget shared across replicas');
      for (const listener of listeners) listener();
    } catch (error) {
      enterFallback(error);
    }
  }

  redis.on('ready', () => void rejoin());
  redis.on('error', (error: Error) => enterFallback(error));
  redis.on('end', () => enterFallback(new Error('connection closed')));
  const connecting = redis.connect().catch((error: unknown) => enterFallback(error));

  const sharedReserve = reserveOf(options);

  async function sharedTake(takeOptions: TakeOptions): Promise<Take> {
    const id = `${replica}:${nextId++}`;
    const [granted, retryInMs, count, earliestMs, pausedMs, paceMs] = await commands.budgetTake(
      units, pauseKey, pacingKey, options.limit, options.windowMs, options.holdMs, id, intervalMs, options.burst, takeOptions.leaveReserve ? sharedReserve : 0,
    );
    snapshot = { atMs: Date.now(), count: count as number, earliestMs: earliestMs as number, pausedMs: pausedMs as number, paceMs: paceMs as number };
    if (granted !== 1) return { granted: false, retryInMs: retryInMs as number };
    return {
      granted: true,
      unit: {
        settle: () => void commands.budgetSettle(units, options.windowMs, id).catch(enterFallback),
        cancel: () => void redis.zrem(units, id).catch(enterFallback),
      },
    };
  }

  /** One reading of the shared window's last snapshot (or the local fallback's) for many positions. */
  function estimator(): Estimate {
    const localPause = Math.max(0, localPauseUntil - Date.now());
    if (mode !== 'shared') {
      const fallback = local.estimator();
      return (unitsAhead, leaveReserve) => Math.max(localPause, fallback(unitsAhead, leaveReserve));
    }
    const age = Date.now() - snapshot.atMs;
    const available = options.limit - snapshot.count;
    const paused = Math.max(localPause, snapshot.pausedMs - age);
    const paceMs = Math.max(0, snapshot.paceMs - age);
    const first = Math.max(0, snapshot.earliestMs - age);
    return (unitsAhead, leaveReserve = false) => {
      const pacing = paceMs + (unitsAhead - 1 + (leaveReserve ? sharedReserve : 0)) * intervalMs;
      if (unitsAhead <= available) return Math.max(paused, pacing);
      // Units in use free one by one over at most a window: spread the rest evenly.
      const beyond = unitsAhead - available - 1;
      return Math.max(paused, pacing, first + Math.floor((beyond * options.windowMs) / options.limit));
    };
  }

  return {
    connected: async () => {
      await connecting;
      await firstDecision;
    },
    async take(takeOptions = {}) {
      if (Date.now() < localPauseUntil) return { granted: false, retryInMs: localPauseUntil - Date.now() };
      if (mode === 'shared') {
        try {
          return await sharedTake(takeOptions);
        } catch (error) {
          enterFallback(error);
        }
      }
      return local.take(takeOptions);
    },
    pause(ms) {
      localPauseUntil = Math.max(localPauseUntil, Date.now() + ms);
      local.pause(ms);
      if (mode === 'shared') commands.budgetPause(pauseKey, ms).catch(enterFallback);
    },
    estimateWaitMs: (unitsAhead, leaveReserve) => estimator()(unitsAhead, leaveReserve),
    estimator,
    onChange(listener) {
      listeners.push(listener);
      local.onChange(listener);
    },
    status(): WindowStatus {
      return mode === 'shared'
        ? { mode, ready: true, degraded: false, detail: `shared through Redis: ${options.limit} per ${options.windowMs} ms, bursts of ${options.burst}` }
        : { mode: 'fallback', ready: true, degraded: true, detail: `Redis unreachable (${lastError}): local share of ${fallbackLimit} per ${options.windowMs} ms` };
    },
    async close() {
      redis.removeAllListeners('end');
      redis.disconnect();
    },
  };
}
