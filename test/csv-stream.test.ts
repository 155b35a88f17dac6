import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { bulkBlocksFor, bulkCsvLength } from '../src/sandbox/csv.ts';
import { download, downloadThenLeave } from './support/download.ts';
import { eventually, exportPath, startHarness, type Harness } from './support/harness.ts';

const MiB = 1024 * 1024;
const BIG = bulkBlocksFor(64 * MiB);
const HUGE = bulkBlocksFor(1024 * MiB);

describe('CSV export streaming', () => {
  let h: Harness;
  let caller: string;
  before(async () => {
    h = await startHarness({
      env: { STREAM_IDLE_TIMEOUT_MS: '500' },
      tenant: {
        sources: {
          'big-length': { kind: 'bulk', blocks: BIG, contentLength: true },
          'big-chunked': { kind: 'bulk', blocks: BIG, contentLength: false },
          huge: { kind: 'bulk', blocks: HUGE, contentLength: false },
        },
      },
    });
    caller = `Bearer ${await h.token({ scope: 'idn:nesr:read' })}`;
  });
  after(() => h.close());
  beforeEach(() => h.tenant.clearFaults());

  it('When an export streams, then the process raises no warning (no listener piles up on the response)', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const result = await download(`${h.url}${exportPath('big-chunked')}`, caller);
      assert.equal(result.status, 200);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
    }
  });

  for (const [source, withLength] of [['big-length', true], ['big-chunked', false]] as const) {
    it(`When a ${withLength ? 'Content-Length' : 'chunked'} export of 64 MiB streams, then the caller gets it byte for byte`, async () => {
      const completedBefore = h.tenant.exports.completed;
      const result = await download(`${h.url}${exportPath(source)}`, caller);
      assert.equal(result.status, 200);
      assert.ok(result.complete);
      assert.equal(result.bytes, bulkCsvLength(BIG));
      await eventually(() => h.tenant.exports.completed === completedBefore + 1, 'tenant finished');
      assert.equal(result.sha256, h.tenant.exports.sha256.at(-1));
      assert.match(String(result.headers['content-type']), /^text\/csv/);
      assert.equal(result.headers['content-disposition'], `attachment; filename="non-employees-${source}.csv"`);
      assert.equal(result.headers['cache-control'], 'no-store');
      if (withLength) assert.equal(result.headers['content-length'], String(bulkCsvLength(BIG)));
      else assert.equal(result.headers['transfer-encoding'], 'chunked');
    });
  }

  for (const [source, withLength] of [['big-length', true], ['big-chunked', false]] as const) {
    it(`When the upstream resets mid-body (${withLength ? 'Content-Length' : 'chunked'}), then the caller's download fails visibly`, async () => {
      h.tenant.addFault('export', { kind: 'reset-mid-body', afterBytes: 5 * MiB });
      const result = await download(`${h.url}${exportPath(source)}`, caller);
      assert.equal(result.status, 200);
      assert.equal(result.failed, true);
      assert.equal(result.complete, false);
      assert.ok(result.bytes <= 5 * MiB);
    });
  }

  it('When the upstream stalls mid-body past the idle timeout, then the caller connection is cut', async () => {
    h.tenant.addFault('export', { kind: 'stall-body', afterBytes: MiB });
    const result = await download(`${h.url}${exportPath('big-chunked')}`, caller);
    assert.equal(result.failed, true);
    assert.ok(result.bytes <= MiB);
    const cut = h.logs().find((l) => l.msg === 'CSV stream cut short' && l.cause === 'upstream_failed');
    assert.ok(cut, 'the cut is logged with its cause');
  });

  it('When the caller goes away mid-download, then the upstream request is aborted', async () => {
    const abortedBefore = h.tenant.exports.aborted;
    await downloadThenLeave(`${h.url}${exportPath('huge')}`, caller, 2 * MiB);
    await eventually(() => h.tenant.exports.aborted === abortedBefore + 1, 'the tenant saw its export aborted');
    assert.ok(h.tenant.exports.bytesWritten < 1024 * MiB);
    await eventually(() => h.logs().some((l) => l.msg === 'CSV stream cut short' && l.cause === 'caller_aborted'), 'the cut is logged as the caller leaving');
  });

  it('When the caller reads slowly, then backpressure holds the upstream back (bounded bytes in flight)', async () => {
    const writtenBefore = h.tenant.exports.bytesWritten;
    const abortedBefore = h.tenant.exports.aborted;
    let received = 0;
    const req = get(`${h.url}${exportPath('huge')}`, { headers: { authorization: caller } }, (res) => {
      res.once('data', (chunk: Buffer) => {
        received += chunk.length;
        res.pause();
      });
    });
    req.on('error', () => {});
    // Wait until the tenant stops being able to write: every buffer on the way is full.
    let last = -1;
    let stableReadings = 0;
    await eventually(() => {
      const now = h.tenant.exports.bytesWritten;
      stableReadings = now === last && now > writtenBefore ? stableReadings + 1 : 0;
      last = now;
      return stableReadings >= 20;
    }, 'the upstream writer stalled', 20_000);
    const inFlight = h.tenant.exports.bytesWritten - writtenBefore - received;
    assert.ok(inFlight < 32 * MiB, `${(inFlight / MiB).toFixed(1)} MiB buffered between upstream and a paused caller`);
    req.destroy();
    await eventually(() => h.tenant.exports.aborted === abortedBefore + 1, 'upstream aborted after the slow caller left');
  });
});
