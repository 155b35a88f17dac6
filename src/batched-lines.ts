// Log lines gathered in one buffer and written out in batches from the event loop. pino's own
// destination (sonic-boom) cost more than twice as much per line (7.5 against 3.2 us): an
// asynchronous write goes through libuv's thread pool and back, and a buffered one measures the
// whole buffer again (Buffer.byteLength of a growing string) on every line it adds.
import { writeSync } from 'node:fs';

// Audit records share stdout with the logs; the ones lost are counted apart (docs/AUDIT.md).
const AUDIT_PREFIX = '{"kind":"audit"';

export interface BatchedLinesOptions {
  /** Written out once this many bytes are waiting; 0 writes each line at once. */
  batchBytes: number;
  /** Held at most while the descriptor takes nothing (a pipe nobody reads); lines beyond it are dropped and counted. */
  capacityBytes: number;
  /** How soon to try again after the descriptor took nothing (EAGAIN). */
  retryMs?: number;
  /** Told once per failure instead of stderr: what the owner does about a descriptor that failed. */
  onFailure?: (error: Error) => void;
}

/**
 * A pino destination for a file descriptor. It never blocks on a full non-blocking pipe and never
 * grows without bound: what does not fit waits for the next try, and what does not fit in
 * capacityBytes is dropped, with one line saying how many once writing resumes. A failed
 * descriptor (a closed pipe, a full disk) is reported once per failure (on stderr unless told
 * otherwise), not thrown: losing log lines must not stop the gateway answering.
 */
export class BatchedLines {
  private readonly fd: number;
  private readonly batchBytes: number;
  private readonly retryMs: number;
  private readonly buffer: Buffer;
  private used = 0;
  private dropped = 0;
  private droppedAudit = 0;
  private retry: NodeJS.Timeout | undefined;
  private readonly waiting: Array<(error?: Error) => void> = [];
  private failed: string | undefined;
  // A write that failed part-way left half a line: the next bytes out start with a newline, so
  // the fragment stands alone as one unreadable line and the line after it is whole.
  private midLine = false;
  private readonly onFailure: (error: Error) => void;

  constructor(fd: number, options: BatchedLinesOptions) {
    this.fd = fd;
    this.batchBytes = options.batchBytes;
    this.retryMs = options.retryMs ?? 10;
    this.buffer = Buffer.allocUnsafe(options.capacityBytes);
    this.onFailure = options.onFailure ?? ((error) => void process.stderr.write(`log lines could not be written to descriptor ${fd}: ${error.message}\n`));
  }

  // A UTF-8 byte count is at most three per UTF-16 unit: room for that needs no measuring.
  private hasRoomFor(line: string): boolean {
    return this.buffer.length - this.used >= line.length * 3;
  }

  write(line: string): boolean {
    if (!this.hasRoomFor(line)) this.flush();
    if (!this.hasRoomFor(line)) {
      this.dropped += 1;
      if (line.startsWith(AUDIT_PREFIX)) this.droppedAudit += 1;
      return false;
    }
    this.used += this.buffer.write(line, this.used);
    // While a retry is pending the descriptor took nothing a moment ago: each try throws EAGAIN.
    if (this.used >= this.batchBytes && this.retry === undefined) this.flush();
    return true;
  }

  /**
   * Writes out what waits; what the descriptor does not take now is tried again shortly. `done`
   * runs once everything that waited is out (or dropped, if the descriptor failed), and until then
   * the retry keeps the process alive: lines flushed at exit are not lost to a slow reader.
   */
  flush(done?: (error?: Error) => void): void {
    if (done) this.waiting.push(done);
    let written = 0;
    try {
      if (this.midLine && this.used > 0) {
        writeSync(this.fd, '\n');
        this.midLine = false;
      }
      while (written < this.used) written += writeSync(this.fd, this.buffer, written, this.used - written);
      if (written > 0) this.failed = undefined;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        this.retry ??= setTimeout(() => {
          this.retry = undefined;
          this.flush();
        }, this.retryMs);
        if (this.waiting.length === 0) this.retry.unref();
        else this.retry.ref();
      } else {
        // Nothing will take these bytes: drop them rather than try the same write forever.
        if (written > 0 && this.buffer[written - 1] !== 10) this.midLine = true;
        this.countDropped(written, this.used);
        written = this.used;
        const first = this.failed !== code;
        this.failed = code;
        if (first) this.onFailure(error as Error);
      }
    }
    this.buffer.copyWithin(0, written, this.used);
    this.used -= written;
    if (this.dropped > 0 && this.used === 0 && this.failed === undefined) {
      this.noteDropped();
      this.flush();
      return;
    }
    if (this.used === 0) for (const callback of this.waiting.splice(0)) callback();
  }

  /** Counts the lines in buffer[from, to) that are about to be thrown away. */
  private countDropped(from: number, to: number): void {
    for (let start = from; start < to; ) {
      const end = this.buffer.indexOf(10, start);
      if (end === -1 || end >= to) break;
      this.dropped += 1;
      if (this.buffer.toString('latin1', start, start + AUDIT_PREFIX.length) === AUDIT_PREFIX) this.droppedAudit += 1;
      start = end + 1;
    }
  }

  private noteDropped(): void {
    const line = `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), dropped: this.dropped, auditRecordsDropped: this.droppedAudit, msg: 'log lines dropped: the log destination failed or took nothing for too long' })}\n`;
    this.dropped = 0;
    this.droppedAudit = 0;
    this.used += this.buffer.write(line, this.used);
  }
}
