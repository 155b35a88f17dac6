import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived the last full GC before it starts
 * the next one, as a percentage: 300 is four times the live heap, the most V8 itself would choose.
 *
 * Left to itself V8 picks the factor from how fast it collects against how fast the program
 * allocates, and for the gateway (a small live heap, allocated slowly) it chose about 3. It starts
 * marking once the room left under that limit is no larger than the young generation (up to 64
 * MiB), so with a live heap of about 33 MiB that left some 7 MiB: under load a full GC came every
 * 2–3 s, and its pauses were the worst of the tail at half saturation. After an idle spell V8's
 * memory reducer shrinks the heap and grows it back slowly, which left a 1 GiB download 79 full
 * GCs instead of 46. Measured in docs/PERFORMANCE.md.
 */
export const HEAP_GROWING_PERCENT = 300;

export interface HeapGrowth {
  percent: number;
  setBy: 'gateway' | 'operator';
}

/** The operator's own --heap-growing-percent on node's command line, if there is one. */
export function operatorsHeapGrowth(execArgv: readonly string[]): number | undefined {
  for (const [i, arg] of execArgv.entries()) {
    const match = /^--heap[-_]growing[-_]percent(?:=(.*))?$/.exec(arg);
    if (match) return Number(match[1] ?? execArgv[i + 1]);
  }
  return undefined;
}

/** Applies HEAP_GROWING_PERCENT unless the operator started node with their own. */
export function setHeapGrowth(execArgv: readonly string[] = process.execArgv): HeapGrowth {
  const operators = operatorsHeapGrowth(execArgv);
  if (operators !== undefined) return { percent: operators, setBy: 'operator' };
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return { percent: HEAP_GROWING_PERCENT, setBy: 'gateway' };
}

/**
 * The node flags the gateway is started with: `npm start`, the image's CMD and the bench (a test
 * holds them to this list). V8 reads these only when the process starts, so unlike the factor they
 * cannot be set from inside.
 *
 * --no-memory-reducer: after an idle spell V8's memory reducer shrinks the heap, and when load
 * comes back the shrunken heap soon needs a full GC: in the bench, whose targets idle while the
 * others are measured, mark-compacts of 25-47 ms came in the first seconds of the gateway's turn,
 * and at 80 % of its core each left a queue that took a few hundred milliseconds to drain (a
 * round's p99 of 114-301 ms). The heap a gateway grew to under load stays, up to its limit.
 */
export const NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** Whether node was started with V8's memory reducer turned off (the last such flag wins, as in V8). */
export function memoryReducerOff(execArgv: readonly string[] = process.execArgv): boolean {
  const last = execArgv.findLast((arg) => /^--(?:no[-_])?memory[-_]reducer$/.test(arg));
  return last !== undefined && /^--no[-_]/.test(last);
}
