// Who gets the next unit of upstream budget. Calls wait in bounded per-caller queues; the next
// unit goes to the waiting caller served longest ago, so one caller's flood cannot starve the
// others and callers that keep a queue alternate (round-robin in effect); interactive
// calls go before CSV exports, and exports have their own concurrency limit so long streams never
// hold the slots short calls need. The pace's last free unit is kept for a call that waited
// alone, so a light caller during a flood is served at once while the pace, not a full window,
// holds the flood back. A call that cannot be served within
// its wait limit is refused at once with 429 and an estimate of when budget frees, rather than
// after waiting in vain.
import { GatewayError } from '../errors.ts';
import type { Estimate, Take, Unit, WindowStore } from './budget/window.ts';
import { createGrantsAhead } from './grants-ahead.ts';

export type CallClass = 'interactive' | 'export';

export interface AdmissionOptions {
  store: WindowStore;
  concurrency: Record<CallClass, number>;
  /** All queued calls together; beyond it calls are shed. Bounds memory whatever the load. */
  queueSize: number;
  /** Queued calls of one caller: its bounded share of the queue. */
  perCallerQueue: number;
  /** Exports one caller may hold (running and queued): its share of the export slots. */
  exportsPerCaller: number;
  /** The longest a call may wait for budget before it is refused. */
  queueWaitMs: number;
  /** How often to ask again when the window is shared and its frees are not announced to us. */
  pollMs?: number;
  now?: () => number;
}

export interface Permit {
  /** The answer's headers arrived (or the attempt failed): the budget unit starts its window. */
  settle(): void;
  /** The call is over (body relayed or streamed, or failed): its concurrency slot frees. */
  release(): void;
  waitedMs: number;
}

export interface AdmissionStats {
  queued: Record<CallClass, number>;
  running: Record<CallClass, number>;
  shed: number;
}

interface Waiter {
  caller: string;
  /** Its caller had nothing else waiting: it goes ahead of callers that do. */
  alone: boolean;
  callClass: CallClass;
  enqueuedAt: number;
  deadlineAt: number;
  resolve(permit: Permit): void;
  reject(error: unknown): void;
  cleanup(): void;
}

const CLASSES: CallClass[] = ['interactive', 'export'];

interface AcquireRequest {
  callClass: CallClass;
  caller: string;
  signal: AbortSignal;
}

export interface Admission {
  acquire(request: AcquireRequest): Promise<Permit>;
  /**
   * The refusal acquire() would answer at once, asked before any work is done for the call; none
   * while the call might be served at once (acquire decides those against a fresh reading).
   */
  refusalNow(request: Omit<AcquireRequest, 'signal'>): GatewayError | undefined;
  stats(): AdmissionStats;
}

// A call is admitted when its estimate fits the queue wait, so the last one admitted may be due at
// the very end of it; the unit's timer and the deadline's fire in the same millisecond, and
// whichever ran first decided. The deadline is a backstop (a hopeless call is refused as soon as
// that is known), so it waits this much longer rather than refuse a call as its unit arrives.
const DEADLINE_GRACE_MS = 20;

const BUDGET_SPENT = 'The SailPoint budget is spent for now; try again later.';

// Callers remembered for serving order: beyond it, the longest unserved are forgotten (and so go first).
const LAST_SERVED_MAX = 10_000;

export function createAdmission(options: AdmissionOptions): Admission {
  const now = options.now ?? Date.now;
  // Per class: caller → FIFO. The next unit goes to the waiting caller served longest ago (never
  // served: first), so callers that keep a queue alternate, and a light caller arriving during a
  // flood never waits for its turn behind the flood's; with the pace's reserve (takeFor) it
  // waits for nothing until the flood has filled the window.
  const queues: Record<CallClass, Map<string, Waiter[]>> = { interactive: new Map(), export: new Map() };
  // When each caller was last given a unit, oldest first; bounded, oldest out.
  const lastServed = new Map<string, number>();
  let newestServed: string | undefined;
  // Light callers' units in the last queue wait: expected again ahead of a flood's next call.
  const grantsAhead = createGrantsAhead(options.queueWaitMs, now);
  /** A unit given to a caller; noQueue: the call had no queue of its own, so may go ahead of a flood's. */
  const noteServed = (caller: string, noQueue: boolean) => {
    if (noQueue) grantsAhead.note(caller);
    // Kept in serving order, so that the caller served longest ago is the one forgotten. A caller
    // served again right after itself is already last: deleting and setting it anyway made the
    // Map rehash every few calls, and a long-lived Map's new table is allocated in the old
    // generation, which a major GC then has to clear.
    if (newestServed === caller) {
      lastServed.set(caller, now());
      return;
    }
    lastServed.delete(caller);
    lastServed.set(caller, now());
    newestServed = caller;
    if (lastServed.size > LAST_SERVED_MAX) lastServed.delete(lastServed.keys().next().value as string);
  };
  const running: Record<CallClass, number> = { interactive: 0, export: 0 };
  // Exports each caller holds, running or queued: one caller cannot take every export slot.
  const exportsHeld = new Map<string, number>();
  const holdExport = (caller: string, delta: number) => {
    const held = (exportsHeld.get(caller) ?? 0) + delta;
    if (held > 0) exportsHeld.set(caller, held);
    else exportsHeld.delete(caller);
  };
  let queuedTotal = 0;
  let shed = 0;
  let pumping = false;
  let pumpAgain = false;
  let timer: NodeJS.Timeout | undefined;

  const queuedOf = (callClass: CallClass, caller: string) => queues[callClass].get(caller)?.length ?? 0;
  const queuedIn = (callClass: CallClass) => {
    let n = 0;
    for (const list of queues[callClass].values()) n += list.length;
    return n;
  };
  /** Every interactive call goes before an export. */
  const classesAhead = (callClass: CallClass) => (callClass === 'export' ? queuedIn('interactive') : 0);

  /**
   * Round-robin positions in a class, read once: the caller's call number `own` (1-based) comes
   * after each other caller's first `own` calls, and every interactive call goes before an export.
   * O(callers) to read, then O(1) per position, so every waiting call can be checked at once.
   */
  function positionsIn(callClass: CallClass): (caller: string, own: number) => number {
    const queue = queues[callClass];
    // reach[j]: the calls served in rounds 1…j, all callers together: Σ over callers of min(queued, j).
    let rounds = 0;
    for (const list of queue.values()) rounds = Math.max(rounds, list.length);
    const callersWith = new Array<number>(rounds + 1).fill(0);
    for (const list of queue.values()) callersWith[list.length] = (callersWith[list.length] as number) + 1;
    const reach = new Array<number>(rounds + 1).fill(0);
    let stillQueued = 0;
    for (let j = rounds; j >= 1; j -= 1) {
      stillQueued += callersWith[j] as number;
      reach[j] = stillQueued;
    }
    for (let j = 1; j <= rounds; j += 1) reach[j] = (reach[j] as number) + (reach[j - 1] as number);
    const interactiveFirst = classesAhead(callClass);
    return (caller, own) => {
      const mine = Math.min(queue.get(caller)?.length ?? 0, own);
      return interactiveFirst + own + (reach[Math.min(own, rounds)] as number) - mine;
    };
  }

  /**
   * One position, as positionsIn reads it, without its tables: O(callers) and nothing allocated.
   * Every arrival asks it, while positionsIn's tables are O(longest queue) to build: one caller's
   * flood of a thousand waiting calls made each of its arrivals build two tables of a thousand.
   */
  function positionOf(callClass: CallClass, caller: string, own: number): number {
    let ahead = classesAhead(callClass);
    for (const [other, list] of queues[callClass]) if (other !== caller) ahead += Math.min(list.length, own);
    return ahead + own;
  }

  /**
   * How long a new call would wait, honestly: its round-robin position against the budget as it
   * stands. Fairness is kept by how the queue is served (a newcomer may go ahead of calls already
   * queued, which shedHopeless then refuses if they can no longer make it), never by refusing in
   * advance calls the budget could serve.
   */
  function admissionEstimateMs(callClass: CallClass, caller: string): number {
    const queued = queuedOf(callClass, caller);
    const position = positionOf(callClass, caller, queued + 1);
    // A call that will not wait alone also leaves the store's reserve behind it.
    return options.store.estimateWaitMs(position + (queued > 0 ? grantsAhead.aheadOf(caller) : 0), queued > 0);
  }

  /**
   * Refuses queued calls that can no longer be served in time, as soon as that is known. Every
   * call is checked: a newcomer served first can push an old call past its near deadline while a
   * later one, with more time left, still makes it. They go one at a time, the one nearest the
   * front first: it stays hopeless whatever goes after it, while each call refused moves the calls
   * behind it up, and one pushed by a single unit may then make it after all.
   */
  function shedHopeless(): void {
    const t = now();
    const estimate = options.store.estimator();
    for (const callClass of CLASSES) {
      for (let first = firstHopeless(callClass, estimate, t); first; first = firstHopeless(callClass, estimate, t)) {
        dequeue(first.waiter);
        first.waiter.cleanup();
        first.waiter.reject(refuse(first.estimateMs, BUDGET_SPENT));
      }
    }
  }

  /** The waiting call nearest the front of its class that can no longer make its deadline. */
  function firstHopeless(callClass: CallClass, estimate: Estimate, t: number): { waiter: Waiter; estimateMs: number } | undefined {
    const positionOf = positionsIn(callClass);
    let first: { waiter: Waiter; position: number; estimateMs: number } | undefined;
    for (const [caller, list] of queues[callClass]) {
      list.forEach((waiter, i) => {
        const position = positionOf(caller, i + 1);
        if (first && first.position <= position) return;
        const estimateMs = estimate(position, !waiter.alone);
        if (estimateMs > waiter.deadlineAt - t) first = { waiter, position, estimateMs };
      });
    }
    return first;
  }

  function refuse(waitMs: number, why: string): GatewayError {
    shed += 1;
    return new GatewayError('ERR_RATE_LIMITED', why, { retryAfterS: Math.max(1000, waitMs) / 1000 });
  }

  function dequeue(waiter: Waiter): boolean {
    const list = queues[waiter.callClass].get(waiter.caller);
    const index = list ? list.indexOf(waiter) : -1;
    if (!list || index < 0) return false;
    list.splice(index, 1);
    if (list.length === 0) queues[waiter.callClass].delete(waiter.caller);
    queuedTotal -= 1;
    return true;
  }

  /**
   * The caller whose oldest call goes next in a class: the waiting caller served longest ago; with
   * aloneOnly, of the callers whose oldest call waited alone.
   */
  function nextIn(callClass: CallClass, aloneOnly = false): [string, Waiter[]] | undefined {
    let chosen: [string, Waiter[]] | undefined;
    let chosenAt = Infinity;
    for (const entry of queues[callClass]) {
      if (aloneOnly && !(entry[1][0] as Waiter).alone) continue;
      const at = lastServed.get(entry[0]) ?? -Infinity;
      if (at < chosenAt) {
        chosen = entry;
        chosenAt = at;
      }
    }
    return chosen;
  }

  /** Takes the next waiter of a class out of its queue, as served. */
  function next(callClass: CallClass, aloneOnly = false): Waiter | undefined {
    const chosen = nextIn(callClass, aloneOnly);
    if (!chosen) return undefined;
    const [caller, list] = chosen;
    const waiter = list.shift() as Waiter;
    const queue = queues[callClass];
    if (list.length === 0) queue.delete(caller);
    queuedTotal -= 1;
    noteServed(caller, waiter.alone);
    return waiter;
  }

  /**
   * A unit for the next call of a class. A call that waited alone may take the store's reserve;
   * one whose caller has more waiting leaves it. When the reserve is all there is, it goes to the
   * next call that waited alone (a light caller's), if one waits, rather than sit idle until the
   * pace brings the flood's head a unit of its own. With Redis that second ask is a second round
   * trip, made only while a flood's head waits and a call that waited alone is behind it.
   */
  async function takeFor(callClass: CallClass): Promise<{ take: Take; aloneOnly: boolean }> {
    if ((nextIn(callClass)?.[1][0] as Waiter).alone) return { take: await options.store.take(), aloneOnly: false };
    const take = await options.store.take({ leaveReserve: true });
    if (take.granted || !nextIn(callClass, true)) return { take, aloneOnly: false };
    return { take: await options.store.take(), aloneOnly: true };
  }

  function permitFor(callClass: CallClass, enqueuedAt: number, unit: Unit): Permit {
    running[callClass] += 1;
    let settled = false;
    let released = false;
    return {
      waitedMs: now() - enqueuedAt,
      settle() {
        if (settled) return;
        settled = true;
        unit.settle();
      },
      release() {
        if (released) return;
        released = true;
        if (!settled) {
          settled = true;
          unit.settle();
        }
        running[callClass] -= 1;
        if (queuedTotal > 0) void pump();
      },
    };
  }

  function grant(waiter: Waiter, unit: Unit): void {
    waiter.cleanup();
    waiter.resolve(permitFor(waiter.callClass, waiter.enqueuedAt, unit));
  }

  const classWithWork = () => CLASSES.find((c) => queues[c].size > 0 && running[c] < options.concurrency[c]);

  async function pump(): Promise<void> {
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    try {
      do {
        pumpAgain = false;
        clearTimeout(timer);
        for (let callClass = classWithWork(); callClass; callClass = classWithWork()) {
          const { take, aloneOnly } = await takeFor(callClass);
          if (!take.granted) {
            shedHopeless();
            const delay = options.pollMs === undefined ? take.retryInMs : Math.min(take.retryInMs, options.pollMs);
            timer = setTimeout(() => void pump(), Math.max(1, delay));
            timer.unref();
            break;
          }
          // The class is re-chosen after the await: a waiter may have left meanwhile.
          const chosen = classWithWork();
          const waiter = chosen ? next(chosen, aloneOnly) : undefined;
          if (waiter) grant(waiter, take.unit);
          else take.unit.cancel();
        }
      } while (pumpAgain);
    } finally {
      pumping = false;
    }
  }

  options.store.onChange(() => void pump());

  /** The fast path's condition: nobody waiting, a slot free, and a store that can answer at once. */
  const mayServeAtOnce = (callClass: CallClass) => queuedTotal === 0 && running[callClass] < options.concurrency[callClass] && options.store.takeNow !== undefined;

  /** Why a call that cannot be served at once may not wait either: the queue's bounds, or its estimate. */
  function queueRefusal(callClass: CallClass, caller: string): GatewayError | undefined {
    const estimateMs = admissionEstimateMs(callClass, caller);
    if (queuedTotal >= options.queueSize) return refuse(estimateMs, 'The gateway is at capacity; try again later.');
    if (queuedOf(callClass, caller) >= options.perCallerQueue) return refuse(estimateMs, 'Too many of your calls are waiting; try again later.');
    if (estimateMs > options.queueWaitMs) return refuse(estimateMs, BUDGET_SPENT);
    return undefined;
  }

  const exportShareRefusal = (caller: string) =>
    (exportsHeld.get(caller) ?? 0) >= options.exportsPerCaller
      ? refuse(0, `You already hold ${options.exportsPerCaller} downloads at once, your share; try again when one ends.`)
      : undefined;

  function refusalNow({ callClass, caller }: Omit<AcquireRequest, 'signal'>): GatewayError | undefined {
    const share = callClass === 'export' ? exportShareRefusal(caller) : undefined;
    if (share) return share;
    // acquireSlot's fast path may serve it: refused, if at all, only after a fresh reading there.
    if (mayServeAtOnce(callClass)) return undefined;
    return queueRefusal(callClass, caller);
  }

  function acquireSlot({ callClass, caller, signal }: AcquireRequest): Promise<Permit> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const take = mayServeAtOnce(callClass) ? options.store.takeNow?.() : undefined;
    if (take?.granted) {
      noteServed(caller, true);
      return Promise.resolve(permitFor(callClass, now(), take.unit));
    }
    const refusal = queueRefusal(callClass, caller);
    if (refusal) return Promise.reject(refusal);
    return new Promise<Permit>((resolve, reject) => {
      const onAbort = () => {
        if (dequeue(waiter)) {
          waiter.cleanup();
          reject(signal.reason);
        }
      };
      const deadline = setTimeout(() => {
        if (dequeue(waiter)) {
          waiter.cleanup();
          reject(refuse(admissionEstimateMs(callClass, caller), BUDGET_SPENT));
        }
      }, options.queueWaitMs + DEADLINE_GRACE_MS);
      deadline.unref();
      const waiter: Waiter = {
        caller,
        callClass,
        alone: queuedOf(callClass, caller) === 0,
        enqueuedAt: now(),
        deadlineAt: now() + options.queueWaitMs,
        resolve,
        reject,
        cleanup: () => {
          clearTimeout(deadline);
          signal.removeEventListener('abort', onAbort);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const list = queues[callClass].get(caller);
      if (list) list.push(waiter);
      else queues[callClass].set(caller, [waiter]);
      queuedTotal += 1;
      void pump();
    });
  }

  /** An export counts against its caller's share from the moment it asks until its stream ends. */
  function acquireExport(request: AcquireRequest): Promise<Permit> {
    const { caller } = request;
    const share = exportShareRefusal(caller);
    if (share) return Promise.reject(share);
    holdExport(caller, 1);
    let held = true;
    const letGo = () => {
      if (held) holdExport(caller, -1);
      held = false;
    };
    return acquireSlot(request).then(
      (permit) => ({
        waitedMs: permit.waitedMs,
        settle: () => permit.settle(),
        release() {
          permit.release();
          letGo();
        },
      }),
      (error: unknown) => {
        letGo();
        throw error;
      },
    );
  }

  return {
    acquire: (request) => (request.callClass === 'export' ? acquireExport(request) : acquireSlot(request)),
    refusalNow,
    stats: () => ({
      queued: { interactive: queuedIn('interactive'), export: queuedIn('export') },
      running: { ...running },
      shed,
    }),
  };
}
