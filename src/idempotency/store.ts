// Idempotency records for report starts: the first call with a key does the work; repeats within
// the TTL get its result without another upstream call. Records live in Redis when configured
// (so every replica sees them) and in process memory otherwise, or while Redis is unreachable.
// Each caller has its own bounded set of records: a caller that uses too many keys is refused new
// ones until its own records expire, and can never push out anybody else's.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';

/** What is replayed: the answer the first call gave its caller. */
export interface StoredResult {
  status: number;
  contentType: string;
  body: string;
}

export type Claim =
  | { state: 'new' }
  | { state: 'done'; result: StoredResult }
  | { state: 'pending' }
  | { state: 'mismatch' }
  /** The caller holds its maximum of live records; the oldest expires in retryInMs. */
  | { state: 'full'; retryInMs: number };

/** One key of one caller. */
export interface KeyRef {
  caller: string;
  key: string;
}

type Record = { fingerprint: string; result?: StoredResult };

export interface IdempotencyStore {
  /** Claims the key for this request, or reports what an earlier request with it did. */
  claim(ref: KeyRef, fingerprint: string): Promise<Claim>;
  complete(ref: KeyRef, result: StoredResult): Promise<void>;
  /** The first call certainly started nothing: free the key for the next attempt. */
  abandon(ref: KeyRef): Promise<void>;
}

export interface IdempotencyLimits {
  ttlMs: number;
  maxKeysPerCaller: number;
}

function judge(record: Record, fingerprint: string): Claim {
  if (record.fingerprint !== fingerprint) return { state: 'mismatch' };
  return record.result ? { state: 'done', result: record.result } : { state: 'pending' };
}

export function memoryIdempotencyStore(limits: IdempotencyLimits, now: () => number = Date.now): IdempotencyStore {
  // caller → key → record; a caller's Map keeps claim order, which is expiry order (fixed TTL).
  const callers = new Map<string, Map<string, Record & { expiresAt: number }>>();

  /** The caller's live records, its expired ones dropped from the front. */
  function recordsOf(caller: string) {
    const records = callers.get(caller);
    if (!records) return undefined;
    const t = now();
    for (const [key, record] of records) {
      if (record.expiresAt > t) break;
      records.delete(key);
    }
    if (records.size === 0) callers.delete(caller);
    return records.size === 0 ? undefined : records;
  }

  return {
    async claim({ caller, key }, fingerprint) {
      const records = recordsOf(caller);
      const record = records?.get(key);
      if (record) return judge(record, fingerprint);
      if (records && records.size >= limits.maxKeysPerCaller) {
        const oldest = records.values().next().value as { expiresAt: number };
        return { state: 'full', retryInMs: Math.max(1, oldest.expiresAt - now()) };
      }
      const own = records ?? new Map<string, Record & { expiresAt: number }>();
      own.set(key, { fingerprint, expiresAt: now() + limits.ttlMs });
      callers.set(caller, own);
      return { state: 'new' };
    },
    async complete({ caller, key }, result) {
      const record = recordsOf(caller)?.get(key);
      // Keeps its place (and its expiry): claim order stays expiry order.
      if (record) record.result = result;
    },
    async abandon({ caller, key }) {
      const records = callers.get(caller);
      records?.delete(key);
      if (records?.size === 0) callers.delete(caller);
    },
  };
}

const NOW = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// KEYS: the record, the caller's index (record keys scored by expiry). ARGV: record JSON, ttlMs, max.
// Returns {0} new, {1, record} existing, {2, ms until the caller's oldest record expires} full.
const CLAIM = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local existing = redis.call('GET', KEYS[1])
if existing then return {1, existing} end
local ttl, max = tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('ZCARD', KEYS[2]) >= max then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {2, tostring(math.max(1, tonumber(oldest[2]) - now))}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
redis.call('PEXPIRE', KEYS[2], ttl)
return {0}
`;

// KEYS: the record. ARGV: result JSON. The record keeps its expiry and its fingerprint.
const COMPLETE = `
local existing = redis.call('GET', KEYS[1])
if not existing then return 0 end
local record = cjson.decode(existing)
record.result = cjson.decode(ARGV[1])
redis.call('SET', KEYS[1], cjson.encode(record), 'KEEPTTL')
return 1
`;

interface IdempotencyCommands {
  idempotencyClaim(record: string, index: string, json: string, ttlMs: number, max: number): Promise<[number, string?]>;
  idempotencyComplete(record: string, result: string): Promise<number>;
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

export function redisIdempotencyStore(redis: Redis, limits: IdempotencyLimits, logger: Logger): IdempotencyStore {
  const local = memoryIdempotencyStore(limits);
  // The caller's part in braces: a record and its caller's index hash to one Redis Cluster slot.
  const names = ({ caller, key }: KeyRef) => {
    const base = `sailpoint-gateway:idempotency:{${digest(caller).slice(0, 32)}}`;
    return { record: `${base}:${digest(key)}`, index: base };
  };
  // Which store holds each key this process claimed, so completion goes to the same place.
  const heldLocally = new Set<string>();
  redis.defineCommand('idempotencyClaim', { numberOfKeys: 2, lua: CLAIM });
  redis.defineCommand('idempotencyComplete', { numberOfKeys: 1, lua: COMPLETE });
  const commands = redis as unknown as IdempotencyCommands;

  const degrade = (error: unknown) => {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'Redis unreachable: idempotency records kept in this replica only');
  };

  return {
    async claim(ref, fingerprint) {
      const { record, index } = names(ref);
      try {
        const [state, value] = await commands.idempotencyClaim(record, index, JSON.stringify({ fingerprint }), limits.ttlMs, limits.maxKeysPerCaller);
        if (state === 0) return { state: 'new' };
        if (state === 2) return { state: 'full', retryInMs: Number(value) };
        return judge(JSON.parse(value as string) as Record, fingerprint);
      } catch (error) {
        degrade(error);
        heldLocally.add(record);
        return local.claim(ref, fingerprint);
      }
    },
    async complete(ref, result) {
      const { record } = names(ref);
      if (heldLocally.delete(record)) return local.complete(ref, result);
      try {
        await commands.idempotencyComplete(record, JSON.stringify(result));
      } catch (error) {
        degrade(error);
      }
    },
    async abandon(ref) {
      const { record, index } = names(ref);
      if (heldLocally.delete(record)) return local.abandon(ref);
      try {
        await redis.multi().del(record).zrem(index, record).exec();
      } catch (error) {
        degrade(error);
      }
    },
  };
}
