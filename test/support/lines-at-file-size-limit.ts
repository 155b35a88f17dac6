// Started under a file size limit (prlimit --fsize): writes 100-byte lines to the file named on
// the command line until one fails part-way, says "full", and once told on stdin (the parent has
// raised the limit meanwhile) writes two more lines.
import { openSync } from 'node:fs';
import { BatchedLines } from '../../src/batched-lines.ts';

// Past the limit the kernel sends SIGXFSZ, which would end the process; handled, write() fails.
process.on('SIGXFSZ', () => {});
const told: string[] = [];
const out = new BatchedLines(openSync(process.argv[2] as string, 'a'), {
  batchBytes: 0,
  capacityBytes: 64 * 1024,
  onFailure: (error) => void told.push((error as NodeJS.ErrnoException).code ?? error.message),
});
const line = (n: number) => `${JSON.stringify({ n, pad: 'x'.repeat(80) }).padEnd(99, ' ')}\n`;
let n = 0;
while (told.length === 0) out.write(line(n++));
process.stdout.write(`full ${n}\n`);
process.stdin.once('data', () => {
  out.write(line(1000));
  out.write(line(1001));
  out.flush();
  process.stdout.write(`${JSON.stringify({ told })}\n`);
  process.exit(0);
});
