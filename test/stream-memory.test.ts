import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bulkBlocksFor, bulkCsvLength } from '../src/sandbox/csv.ts';
import { download } from './support/download.ts';
import type { Tenant } from '../src/sandbox/tenant.ts';
import { startProcessSetup, type GatewayProcess, type ProcessSetup } from './support/gateway-process.ts';
import { eventually, exportPath } from './support/harness.ts';

const MiB = 1024 * 1024;
const GiB_BLOCKS = bulkBlocksFor(1024 * MiB);

describe('memory while streaming (gateway in its own process)', () => {
  let setup: ProcessSetup;
  let tenant: Tenant;
  let gateway: GatewayProcess;
  let caller: string;

  before(async () => {
    setup = await startProcessSetup({
      sources: {
        'gib-length': { kind: 'bulk', blocks: GiB_BLOCKS, contentLength: true },
        'gib-chunked': { kind: 'bulk', blocks: GiB_BLOCKS, contentLength: false },
        warmup: { kind: 'bulk', blocks: bulkBlocksFor(32 * MiB), contentLength: false },
      },
    });
    ({ tenant, gateway } = setup);
    caller = `Bearer ${await setup.issuer.mint({ scope: 'idn:nesr:read' })}`;
    // A 32 MiB export first: the baseline then includes the heap and buffers any stream needs,
    // so what is measured is whether memory grows with the size of the body.
    const warmup = await download(`${gateway.url}${exportPath('warmup')}`, caller);
    assert.ok(warmup.complete);
  });
  after(() => setup.close());

  async function streamGiB(source: string): Promise<void> {
    const completed = tenant.exports.completed;
    const result = await download(`${gateway.url}${exportPath(source)}`, caller);
    assert.equal(result.status, 200);
    assert.ok(result.complete);
    assert.equal(result.bytes, bulkCsvLength(GiB_BLOCKS));
    await eventually(() => tenant.exports.completed === completed + 1, 'tenant finished');
    assert.equal(result.sha256, tenant.exports.sha256.at(-1));
  }

  it('When two 1 GiB exports stream through (Content-Length, then chunked), then the bytes match and memory does not grow with the body', async () => {
    const baseline = gateway.memory();
    assert.ok(baseline.peakBytes > 0, 'reads /proc/<pid>/status');
    await streamGiB('gib-length');
    const afterFirst = gateway.memory();
    await streamGiB('gib-chunked');
    const afterSecond = gateway.memory();
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    console.log(`# peak RSS: after 32 MiB ${mib(baseline.peakBytes)}, after 1 GiB ${mib(afterFirst.peakBytes)}, after 2 GiB ${mib(afterSecond.peakBytes)}`);
    assert.ok(afterFirst.peakBytes - baseline.peakBytes < 64 * MiB, `peak RSS grew by ${mib(afterFirst.peakBytes - baseline.peakBytes)} over the first GiB`);
    assert.ok(afterSecond.peakBytes - afterFirst.peakBytes < 16 * MiB, `peak RSS grew by ${mib(afterSecond.peakBytes - afterFirst.peakBytes)} over the second GiB`);
  });
});
