import Bottleneck from 'bottleneck';

export interface BudgetOptions {
  /** At most this many upstream calls in any window of windowMs (retries included). */
  limit: number;
  windowMs: number;
  maxConcurrent: number;
}

/** The shared upstream budget every attempt passes through. */
export interface UpstreamBudget {
  /** Runs fn once budget allows; fn should settle when the upstream's response headers arrive. */
  schedule<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  queued(): number;
  close(): Promise<void>;
}

/**
 * A sliding window on top of bottleneck's reservoir: each call takes one unit and gives it back
 * windowMs after it settled. A unit is in use from before the request left until windowMs after
 * its answer arrived, so any two calls that share a unit reach the upstream at least windowMs
 * apart, and no window of windowMs ever sees more than `limit` arrivals — unlike a reservoir
 * refreshed on a fixed clock, which lets twice the limit through across a refresh edge.
 */
export function createBudget(options: BudgetOptions): UpstreamBudget {
  const limiter = new Bottleneck({ maxConcurrent: options.maxConcurrent, reservoir: options.limit });
  const timers = new Set<NodeJS.Timeout>();

  function giveBackLater(): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      void limiter.incrementReservoir(1);
    }, options.windowMs);
    timer.unref();
    timers.add(timer);
  }

  return {
    schedule(fn, signal) {
      return limiter.schedule(async () => {
        if (signal?.aborted) {
          // The caller left while queued: no call is made, so the unit returns at once.
          void limiter.incrementReservoir(1);
          throw signal.reason;
        }
        try {
          return await fn();
        } finally {
          giveBackLater();
        }
      });
    },
    queued: () => limiter.queued(),
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await limiter.stop({ dropWaitingJobs: true });
    },
  };
}
