import { closeSync, openSync } from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { AuditRecord } from './record.ts';

/** Where audit records go: interleaved with the logs on stdout, or a file of their own. */
export type AuditDestination = { kind: 'stdout' } | { kind: 'file'; path: string };

export interface AuditSink {
  write(record: AuditRecord): void;
  /** Writes out what is buffered; called before the process exits. */
  flush(): void;
}

/**
 * On stdout the records share the log stream, so a line is never split by another writer; the
 * leading "kind":"audit" is the marker to route them by. A file gets every record as soon as it
 * is written, not batched: an audit trail must not lose its last seconds in a crash.
 */
export function createAuditSink(destination: AuditDestination, logger: Logger): AuditSink {
  let stream: DestinationStream & { flushSync?: () => void };
  if (destination.kind === 'stdout') {
    stream = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym] as DestinationStream;
  } else {
    // Fail at start, in the operator's words, rather than at the first record.
    try {
      closeSync(openSync(destination.path, 'a', 0o640));
    } catch (error) {
      throw new Error(`AUDIT_LOG cannot be written: ${(error as Error).message}`, { cause: error });
    }
    stream = pino.destination({ dest: destination.path, append: true, sync: false, minLength: 0 });
  }
  return {
    write(record) {
      stream.write(`${JSON.stringify(record)}\n`);
    },
    flush() {
      if (destination.kind === 'file') stream.flushSync?.();
    },
  };
}
