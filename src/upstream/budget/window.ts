// The shared upstream budget as a sliding window of "units": a call takes a unit before it is
// sent, and the unit frees windowMs after the call's answer (or failure) arrived. The upstream
// received the request before we saw its answer, so two calls that use the same unit reach the
// upstream at least windowMs apart, and no window of windowMs ever sees more than `limit` calls,
// whatever the network delay. Unlike a counter refreshed on a fixed clock, this cannot let twice
// the limit through at a window edge.
//
// Within that hard limit, units are also paced (GCRA: at most `burst` at once, then one every
// windowMs / limit), so a flood cannot spend a whole window in its first second and leave nothing
// for other callers for the rest of it: units keep coming at the budget's pace, and the fair queue
// decides who gets each.
//
// One unit of the burst is kept in reserve: a call whose caller already has calls waiting is
// granted only while another unit of the pace would still be free after it, so a caller with
// nothing waiting (a light caller, during a flood that takes each unit as it comes) is served at
// once rather than after the next unit of the pace. It is a unit of the pace, never of the window:
// the pace's units build up to the burst while unused, so keeping one back loses the flood
// nothing, while a unit of the window kept back would sit idle for a whole window. Once a flood
// has filled the window, a light caller waits for the next unit that frees, as any call does.
import { UnitLedger } from './ledger.ts';

export interface Unit {
  /** The call's answer arrived, or it failed: the unit frees windowMs from now. */
  settle(): void;
  /** No call was made with it after all: the unit frees at once. */
  cancel(): void;
}

export type Take = { granted: true; unit: Unit } | { granted: false; retryInMs: number };

export interface WindowStatus {
  mode: 'local' | 'shared' | 'fallback';
  ready: boolean;
  /** Serving, but not as configured (Redis unreachable: a local share of the budget). */
  degraded: boolean;
  detail: string;
}

export interface TakeOptions {
  /** Granted only while the pace's reserve would still be free after it: the caller has calls waiting. */
  leaveReserve?: boolean;
}

/** How long until `unitsAhead` more units can be taken, by calls that leave the reserve or not. */
export type Estimate = (unitsAhead: number, leaveReserve?: boolean) => number;

export interface WindowStore {
  take(options?: TakeOptions): Promise<Take>;
  /** The same as take(), at once, for stores that need no I/O (the in-process one). */
  takeNow?(options?: TakeOptions): Take;
  /** An upstream 429: no unit is handed out, here or (when shared) in any replica, for ms. */
  pause(ms: number): void;
  /** Honest estimate of how long until `unitsAhead` more units can be taken. */
  estimateWaitMs(unitsAhead: number, leaveReserve?: boolean): number;
  /** The same for many positions against one reading of the window, cheaply each. */
  estimator(): Estimate;
  /** Called when a unit frees or a pause changes, so waiting calls can be served at once. */
  onChange(listener: () => void): void;
  status(): WindowStatus;
  close(): Promise<void>;
}

export interface WindowOptions {
  limit: number;
  windowMs: number;
  /** Units that may be taken at once before pacing applies. */
  burst: number;
  /** A unit not settled within this is presumed settled then (a bug or a lost call must not leak it). */
  holdMs: number;
  now?: () => number;
  /** How long a reading of the window may be reused while nothing changes (READING_REUSE_MS). */
  readingReuseMs?: number;
}

/**
 * Free-at times of used units → how long until `unitsAhead` more units are free, assuming each
 * unit is reused as soon as it frees and the reuse frees windowMs later. A unit free now and taken
 * now frees a window from now, like any other. Sorted once, then O(1) per question: admission asks
 * it for every waiting call at once.
 */
export function unitWaits(freeAtMs: ArrayLike<number>, limit: number, windowMs: number, nowMs: number): (unitsAhead: number) => number {
  const available = limit - freeAtMs.length;
  let freeAt: Float64Array | undefined;
  return (unitsAhead) => {
    if (unitsAhead <= available) return 0;
    const needed = unitsAhead - available;
    const rounds = Math.floor((needed - 1) / limit);
    const index = (needed - 1) % limit;
    if (!freeAt) {
      // A typed array sorts numerically, natively, with no comparator called per pair.
      freeAt = new Float64Array(freeAtMs.length + Math.max(0, available));
      freeAt.set(freeAtMs);
      freeAt.fill(nowMs + windowMs, freeAtMs.length);
      freeAt.sort();
    }
    return Math.max(0, (freeAt[index] as number) - nowMs + rounds * windowMs);
  };
}

/** The units of the pace kept back for callers with nothing waiting: one, unless the burst is one. */
export const reserveOf = (options: Pick<WindowOptions, 'burst'>): number => (options.burst > 1 ? 1 : 0);

/** GCRA: how long until a unit may be taken, given the theoretical arrival time `tatMs`. */
function pacingWaitMs(tatMs: number, nowMs: number, intervalMs: number, burst: number, unitsAhead = 1): number {
  const toleranceMs = (burst - 1) * intervalMs;
  return Math.max(0, Math.max(tatMs, nowMs) - nowMs - toleranceMs + (unitsAhead - 1) * intervalMs);
}

/** The in-process window: one replica, or a replica that lost Redis. */
export interface LocalWindow extends WindowStore {
  /** Marks units as spent for the given durations: a fallback that starts pessimistic. */
  seed(busyForMs: number[]): void;
  /** How long each unit this process really spent (not a seeded one) stays in use. */
  spentRemainingMs(): number[];
}

// Settling rounds to the clock's resolution; a unit freed a hair early could let one call too
// many into a window, so every unit is held this much longer than the window.
const SAFETY_MS = 1;

// A nearly full window's reading scans and sorts its units, O(limit): 3 µs at a limit of 100,
// 26 at 1000, 350 at 10 000 (bench machine), and a flood refused at its caller's queue limit asks
// for one with every refusal, for its Retry-After. So a reading is reused while nothing in the
// window has changed and for less than this since it was taken: its waits are then too long by
// less than this, never too short, since each only shrinks as time passes.
export const READING_REUSE_MS = 1;

export function createLocalWindow(options: WindowOptions): LocalWindow {
  // Sub-millisecond and monotonic: a wall clock's whole milliseconds free units up to 1 ms early.
  const now = options.now ?? (() => performance.now());
  const used = new UnitLedger();
  const listeners: Array<() => void> = [];
  let pausedUntil = 0;
  let tat = 0;
  const intervalMs = options.windowMs / options.limit;
  const reserve = reserveOf(options);
  // Counts every change a reading depends on: a take, a settle, a cancel, a pause, a seed.
  let changes = 0;
  let reading: { atMs: number; changes: number; estimate: Estimate } | undefined;
  const reuseMs = options.readingReuseMs ?? READING_REUSE_MS;

  const notify = () => {
    changes += 1;
    for (const listener of listeners) listener();
  };

  const estimator = (): Estimate => {
    const t = now();
    if (reading && reading.changes === changes && t >= reading.atMs && t - reading.atMs < reuseMs) return reading.estimate;
    const estimate = readingAt(t);
    reading = { atMs: t, changes, estimate };
    return estimate;
  };

  const readingAt = (t: number): Estimate => {
    const paused = Math.max(0, pausedUntil - t);
    const tatNow = tat;
    let windowWait: ((unitsAhead: number) => number) | undefined;
    return (unitsAhead, leaveReserve = false) => {
      const pacing = pacingWaitMs(tatNow, t, intervalMs, options.burst, unitsAhead + (leaveReserve ? reserve : 0));
      // Purging only frees units, so a window with room as it stands needs no scan: a full scan
      // of a busy window is thousands of units.
      if (unitsAhead <= options.limit - used.size) return Math.max(paused, pacing);
      if (!windowWait) {
        used.purge(t, true);
        // A call in flight will most likely be answered in milliseconds, and its unit frees a
        // window after that. Counting it at its latest (the attempt's whole timeout on top) would
        // refuse, as hopeless, calls that the unit will serve in time.
        windowWait = unitWaits(used.freeTimes(t + options.windowMs + SAFETY_MS), options.limit, options.windowMs, t);
      }
      return Math.max(paused, windowWait(unitsAhead), pacing);
    };
  };

  const takeNow = (takeOptions: TakeOptions = {}): Take => {
      const keep = takeOptions.leaveReserve ? reserve : 0;
      const t = now();
      if (pausedUntil > t) return { granted: false, retryInMs: pausedUntil - t };
      used.purge(t);
      if (used.size >= options.limit) used.purge(t, true);
      if (used.size >= options.limit) return { granted: false, retryInMs: Math.max(1, used.earliestFree() - t) };
      // Free in the pace now: this unit and the ones kept.
      const paceMs = pacingWaitMs(tat, t, intervalMs, options.burst, 1 + keep);
      if (paceMs > 0) return { granted: false, retryInMs: Math.ceil(paceMs) };
      tat = Math.max(tat, t) + intervalMs;
      const unit = used.add(t + options.holdMs + options.windowMs);
      changes += 1;
      return {
        granted: true,
        unit: {
          settle: () => {
            if (!unit.released) unit.freeAt = now() + options.windowMs + SAFETY_MS;
            unit.pending = false;
            notify();
          },
          cancel: () => {
            used.release(unit);
            tat = Math.max(now(), tat - intervalMs);
            notify();
          },
        },
      };
  };

  return {
    takeNow,
    take: async (takeOptions) => takeNow(takeOptions),
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
      notify();
    },
    estimateWaitMs: (unitsAhead, leaveReserve) => estimator()(unitsAhead, leaveReserve),
    estimator,
    onChange(listener) {
      listeners.push(listener);
    },
    status: () => ({ mode: 'local', ready: true, degraded: false, detail: `in-process window: ${options.limit} per ${options.windowMs} ms, bursts of ${options.burst}` }),
    async close() {},
    seed(busyForMs) {
      const t = now();
      for (const busyMs of busyForMs) used.add(t + busyMs, true);
      changes += 1;
    },
    spentRemainingMs: () => {
      const t = now();
      used.purge(t, true);
      return [...used.inUse()].filter((unit) => !unit.seeded).map((unit) => unit.freeAt - t);
    },
  };
}
