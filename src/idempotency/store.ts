// Idempotency records for report starts: the first call with a key does the work; repeats within
// the TTL get its result without another upstream call. Records live in Redis when configured
// (so every replica sees them) and in process memory otherwise, or while Redis is unreachable.
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
  | { state: 'mismatch' };

type Record = { fingerprint: string; result?: StoredResult };

export interface IdempotencyStore {
  /** Claims the key for this request, or reports what an earlier request with it did. */
  claim(key: string, fingerprint: string): Promise<Claim>;
  complete(key: string, result: StoredResult): Promise<void>;
  /** The first call failed in a way worth retrying: free the key for the next attempt. */
  abandon(key: string): Promise<void>;
}

const MAX_MEMORY_RECORDS = 10_000;

function judge(record: Record, fingerprint: string): Claim {
  if (record.fingerprint !== fingerprint) return { state: 'mismatch' };
  return record.result ? { state: 'done', result: record.result } : { state: 'pending' };
}

export function memoryIdempotencyStore(ttlMs: number, now: () => number = Date.now): IdempotencyStore {
  const records = new Map<string, Record & { expiresAt: number }>();
  const live = (key: string) => {
    const record = records.get(key);
    if (record && record.expiresAt <= now()) records.delete(key);
    return records.get(key);
  };
  return {
    async claim(key, fingerprint) {
      const record = live(key);
      if (record) return judge(record, fingerprint);
      if (records.size >= MAX_MEMORY_RECORDS) records.delete(records.keys().next().value as string);
      records.set(key, { fingerprint, expiresAt: now() + ttlMs });
      return { state: 'new' };
    },
    async complete(key, result) {
      const record = live(key);
      if (record) records.set(key, { ...record, result, expiresAt: now() + ttlMs });
    },
    async abandon(key) {
      records.delete(key);
    },
  };
}

export function redisIdempotencyStore(redis: Redis, ttlMs: number, logger: Logger): IdempotencyStore {
  const local = memoryIdempotencyStore(ttlMs);
  const redisKey = (key: string) => `sailpoint-gateway:idempotency:${key}`;
  // Which store holds each key this process claimed, so completion goes to the same place.
  const heldLocally = new Set<string>();

  const degrade = (error: unknown) => {
    logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'Redis unreachable: idempotency records kept in this replica only');
  };

  return {
    async claim(key, fingerprint) {
      try {
        const created = await redis.set(redisKey(key), JSON.stringify({ fingerprint }), 'PX', ttlMs, 'NX');
        if (created === 'OK') return { state: 'new' };
        const existing = await redis.get(redisKey(key));
        if (existing === null) return this.claim(key, fingerprint);
        return judge(JSON.parse(existing) as Record, fingerprint);
      } catch (error) {
        degrade(error);
        heldLocally.add(key);
        return local.claim(key, fingerprint);
      }
    },
    async complete(key, result) {
      if (heldLocally.delete(key)) return local.complete(key, result);
      try {
        const record = await redis.get(redisKey(key));
        const fingerprint = record ? (JSON.parse(record) as Record).fingerprint : '';
        await redis.set(redisKey(key), JSON.stringify({ fingerprint, result }), 'PX', ttlMs);
      } catch (error) {
        degrade(error);
      }
    },
    async abandon(key) {
      if (heldLocally.delete(key)) return local.abandon(key);
      try {
        await redis.del(redisKey(key));
      } catch (error) {
        degrade(error);
      }
    },
  };
}
