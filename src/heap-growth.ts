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
