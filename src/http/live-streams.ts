import type { StreamCut } from './context.ts';

/** The CSV streams in flight, so that a drain that runs out of time can cut them with that cause. */
export interface LiveStreams {
  /** Registers a stream's cutter; call the returned function when the stream ends. */
  track(cut: (cause: StreamCut) => void): () => void;
  cutAll(cause: StreamCut): number;
}

export function createLiveStreams(): LiveStreams {
  const cutters = new Set<(cause: StreamCut) => void>();
  return {
    track(cut) {
      cutters.add(cut);
      return () => cutters.delete(cut);
    },
    cutAll(cause) {
      const count = cutters.size;
      for (const cut of [...cutters]) cut(cause);
      return count;
    },
  };
}
