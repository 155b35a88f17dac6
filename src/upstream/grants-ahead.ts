// Units given, within the last queue wait, to calls that had no queue of their own (a light
// caller's): served on arrival, or waiting alone. Such calls come unannounced and go ahead of a
// flood's, so a flood's next call is admitted only if it would still make it with as many going
// ahead again; otherwise each of them pushes the flood's newest calls past their deadlines, and
// those are refused late, not at once. The ones served on arrival count too: a light caller's
// calls before a flood began are what it will send during the flood's first queue wait.
//
// Counted per caller in time slices rather than one entry per grant: every call served on
// arrival is noted, and at thousands a second an entry each, kept for a whole queue wait, would
// be promoted out of the young generation for a major GC to clear.

const SLICES = 50;

interface Slice {
  start: number;
  total: number;
  byCaller: Map<string, number>;
}

export interface GrantsAhead {
  note(caller: string): void;
  /** Grants to other callers within the last span: how many may go ahead of this caller's next call. */
  aheadOf(caller: string): number;
}

export function createGrantsAhead(spanMs: number, now: () => number): GrantsAhead {
  const sliceMs = Math.max(1, spanMs / SLICES);
  // The span touches SLICES + 1 of them, the one being filled among them.
  const slices: Slice[] = Array.from({ length: SLICES + 1 }, () => ({ start: -Infinity, total: 0, byCaller: new Map() }));
  return {
    note(caller) {
      const index = Math.floor(now() / sliceMs);
      const start = index * sliceMs;
      const slice = slices[index % slices.length] as Slice;
      if (slice.start !== start) {
        slice.start = start;
        slice.total = 0;
        slice.byCaller.clear();
      }
      slice.total += 1;
      slice.byCaller.set(caller, (slice.byCaller.get(caller) ?? 0) + 1);
    },
    aheadOf(caller) {
      // A slice counts while any of it lies within the span: a grant may be remembered up to a
      // fiftieth of the span too long, never forgotten early. Forgotten early, the light calls
      // it stood for pushed the flood's newest calls out late, once each queue wait.
      const since = now() - spanMs;
      let ahead = 0;
      for (const slice of slices) if (slice.start + sliceMs > since) ahead += slice.total - (slice.byCaller.get(caller) ?? 0);
      return ahead;
    },
  };
}
