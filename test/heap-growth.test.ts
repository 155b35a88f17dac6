import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { HEAP_GROWING_PERCENT, memoryReducerOff, NODE_FLAGS, operatorsHeapGrowth } from '../src/heap-growth.ts';
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
      assert.equal(listeningLine(ours.gateway.stdout()).memoryReducer, 'off', 'started as shipped, with NODE_FLAGS');
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

  it('reads whether the memory reducer is off from node\'s flags, the last one winning as in V8', () => {
    assert.equal(memoryReducerOff([]), false);
    assert.equal(memoryReducerOff(['--no-memory-reducer']), true);
    assert.equal(memoryReducerOff(['--no_memory_reducer', '--import', 'x.ts']), true);
    assert.equal(memoryReducerOff(['--no-memory-reducer', '--memory-reducer']), false);
    assert.equal(memoryReducerOff(['--no-memory-reducer-for-small-heaps']), false);
  });

  it('the gateway is started with NODE_FLAGS wherever it is started as shipped: npm start and the image', () => {
    const start = JSON.parse(readFileSync('package.json', 'utf8')).scripts.start as string;
    assert.equal(start, ['node', ...NODE_FLAGS, 'src/main.ts'].join(' '));
    const cmd = readFileSync('Dockerfile', 'utf8').split('\n').find((line) => line.startsWith('CMD ')) as string;
    assert.deepEqual(JSON.parse(cmd.slice('CMD '.length)), ['node', ...NODE_FLAGS, 'dist/main.js']);
  });
});
