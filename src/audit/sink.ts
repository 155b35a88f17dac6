import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { BatchedLines } from '../batched-lines.ts';
import { destinationOf, type Logger } from '../log.ts';
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
 * is written, not batched, and from the event loop: an audit trail must not lose its last seconds
 * in a crash, and a record handed to the kernel at once is not lost when the process dies (an
 * asynchronous write also cost a thread-pool round trip per record).
 */
export function createAuditSink(destination: AuditDestination, logger: Logger): AuditSink {
  if (destination.kind === 'stdout') {
    const stdout = destinationOf(logger);
    return { write: (record) => void stdout.write(`${JSON.stringify(record)}\n`), flush: () => {} };
  }
  const { path } = destination;
  // A write that fails (a full disk) is an operator's alarm, not a crash: the failed descriptor is
  // dropped (the record in that write is lost, and the log line says so) and the next record opens
  // the file again, so the trail resumes once there is room.
  const openWriter = (): BatchedLines => {
    const fd = openSync(path, 'a', 0o640);
    if (endsMidLine(fd, path)) writeSync(fd, '\n');
    const file: BatchedLines = new BatchedLines(fd, {
      batchBytes: 0,
      capacityBytes: 1024 * 1024,
      onFailure: (error) => {
        logger.error({ err: error.message, path }, 'audit record could not be written');
        if (current === file) current = undefined;
        closeSync(fd);
      },
    });
    return file;
  };
  let current: BatchedLines | undefined;
  // Opened at start so that a path that cannot be written fails there, in the operator's words.
  try {
    current = openWriter();
  } catch (error) {
    throw new Error(`AUDIT_LOG cannot be written: ${(error as Error).message}`, { cause: error });
  }
  const reopen = (): BatchedLines | undefined => {
    try {
      return openWriter();
    } catch (error) {
      logger.error({ err: (error as Error).message, path }, 'audit record could not be written');
      return undefined;
    }
  };
  return {
    write(record) {
      current ??= reopen();
      current?.write(`${JSON.stringify(record)}\n`);
    },
    flush: () => current?.flush(),
  };
}

/**
 * Whether the file ends part-way through a line (a write that failed, a process killed
 * mid-write): it is ended with a newline, so that the next record is not glued to it. A file the
 * gateway may append to but not read is taken to end whole.
 */
function endsMidLine(fd: number, path: string): boolean {
  const stat = fstatSync(fd);
  if (!stat.isFile() || stat.size === 0) return false;
  let reader: number;
  try {
    reader = openSync(path, 'r');
  } catch {
    return false;
  }
  try {
    const last = Buffer.alloc(1);
    return readSync(reader, last, 0, 1, stat.size - 1) === 1 && last[0] !== 10;
  } finally {
    closeSync(reader);
  }
}
