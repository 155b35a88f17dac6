import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomHex } from '../src/http/random-hex.ts';

describe('random ids from the pool', () => {
  it('Each is lowercase hex of the asked length, and none repeats across refills of the pool', () => {
    // 16-byte ids use up the 4 KiB pool every 256: 2000 of them cross seven refills, and a
    // refill that left the offset wrong would hand out the same bytes twice.
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i += 1) {
      const id = randomHex(i % 3 === 0 ? 8 : 16);
      assert.match(id, i % 3 === 0 ? /^[0-9a-f]{16}$/ : /^[0-9a-f]{32}$/);
      assert.ok(!seen.has(id), `${id} came twice`);
      seen.add(id);
    }
  });
});
