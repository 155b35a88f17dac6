import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

// A PATH holding only node (and what a test adds): the machine "without redis-server".
const bin = mkdtempSync(join(tmpdir(), 'preflight-bin-'));
symlinkSync(process.execPath, join(bin, 'node'));
const runPreflight = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['test/preflight.ts'], { env: { PATH: bin, ...env }, encoding: 'utf8' });

describe('npm test on a machine without the servers it needs', () => {
  after(() => rmSync(bin, { recursive: true, force: true }));

  it('When redis-server is missing and may not be installed, then the run stops at once with one line naming the package', () => {
    const result = runPreflight({ SYSTEM_PACKAGES_INSTALL: 'never' });
    assert.equal(result.status, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] as string, /^npm test needs redis-server \(.+\): install it with "apt-get install -y redis-server"/);
  });

  it('When redis-server is on PATH, then the run goes on without a word', () => {
    const fake = join(bin, 'redis-server');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n');
    chmodSync(fake, 0o755);
    try {
      const result = runPreflight({ SYSTEM_PACKAGES_INSTALL: 'never' });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, '');
    } finally {
      rmSync(fake);
    }
  });
});
