import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Agent } from 'undici';
import { createVerifiedCache, entryBytes, MAX_CACHE_BYTES } from '../src/auth/verified-cache.ts';
import type { Caller } from '../src/auth/caller.ts';
import { startProcessSetup } from './support/gateway-process.ts';

const MiB = 1024 * 1024;
const caller = (subject: string, roles: string[] = ['CERT_ADMIN']): Caller => ({ subject, grants: { roles: new Set(roles), scopes: new Set() }, via: 'bearer' });

describe('the verified-token cache is bounded in bytes', () => {
  it('holds at most MAX_CACHE_BYTES whatever the tokens, evicting the oldest first', () => {
    const cache = createVerifiedCache(() => 0, 1 * MiB);
    const big = 'x'.repeat(15_000);
    for (let i = 0; i < 5000; i += 1) cache.set(`${big}.${i}`, caller(`user-${i}`, [`role-${i}-${'r'.repeat(200)}`]), 60_000);
    const { bytes, entries } = cache.usage();
    assert.ok(bytes <= 1 * MiB, `${bytes} bytes`);
    assert.ok(entries > 1000 && entries < 5000, `${entries} entries`);
    assert.equal(cache.get(`${big}.4999`)?.subject, 'user-4999', 'the newest is kept');
    assert.equal(cache.get(`${big}.0`), undefined, 'the oldest went first');
  });

  it('counts what verification produced, not the token: a 15 KB token costs what a small one does', () => {
    const cache = createVerifiedCache(() => 0);
    cache.set('a'.repeat(15_000), caller('same'), 60_000);
    const large = cache.usage().bytes;
    const other = createVerifiedCache(() => 0);
    other.set('a.b.c', caller('same'), 60_000);
    assert.equal(large, other.usage().bytes);
    assert.equal(large, entryBytes(caller('same')));
    assert.ok(MAX_CACHE_BYTES <= 16 * MiB);
  });

  it('does not cache a caller whose grants alone are huge (verified every time instead)', () => {
    const cache = createVerifiedCache(() => 0);
    cache.set('t', caller('x', Array.from({ length: 2000 }, (_, i) => `role-${i}-padding-padding`)), 60_000);
    assert.deepEqual(cache.usage(), { bytes: 0, entries: 0 });
  });
});

describe('a flood of distinct large valid tokens', () => {
  it('When 12 000 distinct 15 KB tokens arrive, then the gateway process stays far below what caching them whole would take', async () => {
    const setup = await startProcessSetup({}, { AUDIT_LOG: '/dev/null' });
    const agent = new Agent({ connections: 16 });
    try {
      const url = new URL(setup.gateway.url);
      const pad = 'x'.repeat(10_500); // about 15 KB once signed and encoded, under the 16 KiB header limit
      const before = setup.gateway.memory().rssBytes;
      let next = 0;
      const worker = async () => {
        for (let i = next++; i < 12_000; i = next++) {
          const token = await setup.issuer.mint({ roles: ['CERT_ADMIN'], pad, jti: String(i) }, { expiresInS: 3600 });
          // Verified, then refused by policy (no scope): nothing goes upstream.
          const response = await agent.request({ origin: url.origin, path: '/v3/non-employee-sources/s1/non-employees/download', method: 'GET', headers: { authorization: `Bearer ${token}` } });
          await response.body.dump();
          assert.equal(response.statusCode, 403);
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      const grownMiB = (setup.gateway.memory().rssBytes - before) / MiB;
      // Measured with the same flood: keyed by whole tokens, RSS grew 276 MiB; keyed by digest and
      // bounded in bytes, 62 MiB (and 125 MiB after 48 000 tokens, against 770 MiB before).
      assert.ok(grownMiB < 150, `RSS grew ${grownMiB.toFixed(0)} MiB`);
    } finally {
      await agent.close();
      await setup.close();
    }
  });
});
