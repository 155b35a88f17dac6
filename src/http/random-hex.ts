import { randomFillSync } from 'node:crypto';

// Ids come from a pool refilled 4 KiB at a time: one randomBytes() call per id cost 3 % of the
// gateway's CPU per small call (the same reason Node pools the bytes behind randomUUID()), and
// randomUUID() with its dashes taken out cost five times a pooled id.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
const ALL_ZERO = /^0+$/;

/** `bytes` random bytes as lowercase hex; never all zeros (W3C Trace Context's invalid id). */
export function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return ALL_ZERO.test(hex) ? randomHex(bytes) : hex;
}
