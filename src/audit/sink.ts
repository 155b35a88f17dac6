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

type FileStream = ReturnType<typeof pino.destination>;

/**
 * On stdout the records share the log stream, so a line is never split by another writer; the
 * leading "kind":"audit" is the marker to route them by. A file gets every record as soon as it
 * is written, not batched: an audit trail must not lose its last seconds in a crash.
 */
export function createAuditSink(destination: AuditDestination, logger: Logger): AuditSink {
  if (destination.kind === 'stdout') {
    const stdout = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym] as DestinationStream;
    return { write: (record) => void stdout.write(`${JSON.stringify(record)}\n`), flush: () => {} };
  }
  // Fail at start, in the operator's words, rather than at the first record.
  try {
    closeSync(openSync(destination.path, 'a', 0o640));
  } catch (error) {
    throw new Error(`AUDIT_LOG cannot be written: ${(error as Error).message}`, { cause: error });
  }
  const open = (): FileStream => {
    const file = pino.destination({ dest: destination.path, append: true, sync: false, minLength: 0 });
    // An unhandled 'error' would end the process; a full disk is an operator's alarm, not a crash.
    // The failed stream is dropped (its buffered records are lost, and say so) and the next record
    // opens the file again, so the trail resumes once there is room.
    file.on('error', () => {}); // a failed stream can report its failure more than once
    file.once('error', (error: Error) => {
      logger.error({ err: error.message, path: destination.path }, 'audit record could not be written');
      if (current === file) current = undefined;
      // Destroyed, it is skipped by the flush-on-exit that would otherwise retry it forever.
      file.destroy();
    });
    return file;
  };
  let current: FileStream | undefined = open();
  return {
    write(record) {
      current ??= open();
      current.write(`${JSON.stringify(record)}\n`);
    },
    flush() {
      try {
        current?.flushSync();
      } catch (error) {
        logger.error({ err: (error as Error).message, path: destination.path }, 'audit records could not be flushed');
      }
    },
  };
}
