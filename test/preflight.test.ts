import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

// A PATH holding only node (and what a test adds): the machine "without redis-server" or chromium.
const bin = mkdtempSync(join(tmpdir(), 'preflight-bin-'));
symlinkSync(process.execPath, join(bin, 'node'));
const runPreflight = (env: Record<string, string>) =>
  spawnSync(process.execPath, ['test/preflight.ts'], { env: { PATH: bin, ...env }, encoding: 'utf8' });

describe('npm test on a machine without the servers it needs', () => {
  after(() => rmSync(bin, { recursive: true, force: true }));

  /** A stand-in for a server on PATH, for as long as `run` takes. */
  function withFakes<T>(commands: string[], run: () => T): T {
    const fakes = commands.map((command) => join(bin, command));
    for (const fake of fakes) {
      writeFileSync(fake, '#!/bin/sh\nexit 0\n');
      chmodSync(fake, 0o755);
    }
    try {
      return run();
    } finally {
      for (const fake of fakes) rmSync(fake);
    }
  }

  it('When redis-server, chromium and cc are missing and may not be installed, then the run stops at once with one line naming their packages', () => {
    const result = runPreflight({ SYSTEM_PACKAGES_INSTALL: 'never' });
    assert.equal(result.status, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] as string, /^npm test needs redis-server \(.+\), chromium \(.+\), cc \(.+\): install it with "apt-get install -y redis-server chromium gcc"/);
  });

  it('When only chromium is missing, then the line names chromium alone', () => {
    const result = withFakes(['redis-server', 'cc'], () => runPreflight({ SYSTEM_PACKAGES_INSTALL: 'never' }));
    assert.equal(result.status, 1);
    assert.match(result.stderr.trim(), /^npm test needs chromium \(the front-end tests in a real browser\): install it with "apt-get install -y chromium"/);
  });

  it('When redis-server, chromium and cc are on PATH, then the run goes on without a word', () => {
    const result = withFakes(['redis-server', 'chromium', 'cc'], () => runPreflight({ SYSTEM_PACKAGES_INSTALL: 'never' }));
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
  });
});
