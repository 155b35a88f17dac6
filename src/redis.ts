import { Redis } from 'ioredis';

/**
 * One Redis connection shared by the budget and the idempotency records. Commands fail fast
 * while Redis is unreachable (no offline queue), so callers can fall back instead of hanging.
 */
export function createRedisClient(url: string, commandTimeoutMs = 1000): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
    lazyConnect: true,
  });
}
