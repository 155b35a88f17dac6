// The log destination against real descriptors: a file, a pipe nobody reads (a `cat` whose own
// output is not read, so its input fills up), and a device that refuses every write.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BatchedLines } from '../src/batched-lines.ts';
import { eventually } from './support/harness.ts';

// Every other line an audit record, as on stdout where both share the stream.
const line = (n: number) => `${JSON.stringify(n % 2 === 0 ? { kind: 'audit', n, pad: 'x'.repeat(80) } : { n, pad: 'x'.repeat(90) })}\n`;

describe('batched log lines', () => {
  it('Lines wait until a batch is full, then go out in order; flush writes the rest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'batched-'));
    const path = join(dir, 'out.jsonl');
    const fd = openSync(path, 'a');
    try {
      const out = new BatchedLines(fd, { batchBytes: 1000, capacityBytes: 64 * 1024 });
      for (let n = 0; n < 9; n += 1) out.write(line(n));
      assert.equal(readFileSync(path, 'utf8'), '', 'nine lines of about 100 bytes are under one batch');
      out.write(line(9));
      assert.equal(readFileSync(path, 'utf8').split('\n').length - 1, 10, 'the tenth fills the batch');
      out.write(line(10));
      let flushed = false;
      out.flush(() => (flushed = true));
      assert.ok(flushed);
      assert.deepEqual(readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l).n), Array.from({ length: 11 }, (_, n) => n));
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true });
    }
  });

  it('When the pipe takes nothing, then nothing blocks: lines wait up to the capacity, the ones refused are counted and reported once it drains', async () => {
    // cat's stdout is not read, so once its pipe is full cat stops reading and its stdin fills too.
    const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    cat.stdout.pause();
    const fd = (cat.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    try {
      const out = new BatchedLines(fd, { batchBytes: 0, capacityBytes: 256 * 1024, retryMs: 5 });
      let refused = 0;
      let auditRefused = 0;
      const startedAt = performance.now();
      // Far more than two pipes and the capacity hold together: some are certainly refused.
      const total = 20_000;
      for (let n = 0; n < total; n += 1) {
        if (out.write(line(n))) continue;
        refused += 1;
        if (n % 2 === 0) auditRefused += 1;
      }
      assert.ok(refused > 0, 'some lines were dropped');
      assert.ok(performance.now() - startedAt < 5000, 'the writes never waited for the reader');

      let received = '';
      cat.stdout.on('data', (chunk: Buffer) => (received += chunk.toString()));
      cat.stdout.resume();
      await eventually(() => received.includes('log lines dropped'), 'the dropped lines reported once the pipe drains');
      const lines = received.trimEnd().split('\n').map((l) => JSON.parse(l) as { n?: number; dropped?: number; auditRecordsDropped?: number; level?: string });
      const kept = lines.filter((l) => l.n !== undefined).map((l) => l.n as number);
      // cat may take a little while the lines are written, so a line can fit again after others
      // were refused: what is kept is whole and in order, and everything else is counted.
      assert.equal(kept[0], 0);
      assert.ok(kept.every((n, i) => i === 0 || n > (kept[i - 1] as number)), 'the lines kept are whole and in order');
      const note = lines.at(-1);
      assert.equal(note?.level, 'warn');
      assert.equal(note?.dropped, total - kept.length, 'every line not written is counted');
      assert.equal(note?.dropped, refused);
      assert.ok(auditRefused > 0);
      assert.equal(note?.auditRecordsDropped, auditRefused, 'the audit records among them counted apart');
    } finally {
      cat.kill();
    }
  });

  it('When a write fails part-way through a line (the file size limit), then once writing resumes the half line stands alone and the next line is whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lines-'));
    const path = join(dir, 'out.jsonl');
    const child = spawn('prlimit', ['--fsize=4096:', process.execPath, 'test/support/lines-at-file-size-limit.ts', path], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      let said = '';
      child.stdout.on('data', (chunk: Buffer) => (said += chunk.toString()));
      await eventually(() => said.includes('full'), 'the writer hit the limit');
      assert.equal(readFileSync(path).length, 4096, 'the last line was written part-way');
      execFileSync('prlimit', ['--pid', String(child.pid), '--fsize=unlimited:']);
      child.stdin.write('go\n');
      await eventually(() => said.includes('told'), 'the writer wrote on');
      assert.deepEqual(JSON.parse(said.split('\n')[1] as string), { told: ['EFBIG'] });
      const lines = readFileSync(path, 'utf8').split('\n');
      assert.equal(lines.pop(), '', 'the file ends with a whole line');
      const parsed = lines.map((text) => {
        try {
          const value = JSON.parse(text) as { n?: number; dropped?: number };
          return value.n ?? `dropped ${value.dropped}`;
        } catch {
          return 'fragment';
        }
      });
      // The line cut short is counted among those dropped, in the note written once writing resumes.
      assert.deepEqual(parsed, [...Array.from({ length: 40 }, (_, n) => n), 'fragment', 1000, 'dropped 1', 1001]);
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('When the descriptor fails (a full device), then lines are dropped without throwing and the failure is told once on stderr', () => {
    const full = openSync('/dev/full', 'w');
    const told: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((text: string) => told.push(text) > 0) as typeof process.stderr.write;
    try {
      const out = new BatchedLines(full, { batchBytes: 0, capacityBytes: 64 * 1024 });
      assert.doesNotThrow(() => {
        for (let n = 0; n < 100; n += 1) out.write(line(n));
        out.flush();
      });
    } finally {
      process.stderr.write = write;
      closeSync(full);
    }
    assert.equal(told.length, 1, told.join(''));
    assert.match(told[0] as string, /log lines could not be written to descriptor \d+: ENOSPC/);
  });
});
