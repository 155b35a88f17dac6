import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEAP_GROWING_PERCENT, operatorsHeapGrowth } from '../src/heap-growth.ts';
import { startProcessSetup } from './support/gateway-process.ts';

const listeningLine = (stdout: string) => JSON.parse(stdout.split('\n').find((line) => line.includes('"msg":"gateway listening"')) as string);

describe('heap growth', () => {
  it("reads the operator's own --heap-growing-percent in either spelling and either form", () => {
    assert.equal(operatorsHeapGrowth([]), undefined);
    assert.equal(operatorsHeapGrowth(['--import', 'x.ts']), undefined);
    assert.equal(operatorsHeapGrowth(['--heap-growing-percent=150']), 150);
    assert.equal(operatorsHeapGrowth(['--heap_growing_percent=50']), 50);
    assert.equal(operatorsHeapGrowth(['--heap-growing-percent', '120']), 120);
    assert.equal(operatorsHeapGrowth(['--heap-growing-percentage=9']), undefined);
  });

  it('a gateway process sets it at start and says so; one started with its own keeps that', async () => {
    const ours = await startProcessSetup({});
    try {
      assert.deepEqual(listeningLine(ours.gateway.stdout()).heapGrowth, { percent: HEAP_GROWING_PERCENT, setBy: 'gateway' });
    } finally {
      await ours.close();
    }
    const theirs = await startProcessSetup({}, {}, { nodeArgs: ['--heap-growing-percent=150'] });
    try {
      assert.deepEqual(listeningLine(theirs.gateway.stdout()).heapGrowth, { percent: 150, setBy: 'operator' });
    } finally {
      await theirs.close();
    }
  });
});
