import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { eventually } from './support/harness.ts';

const read = (path: string) => readFileSync(path, 'utf8');
describe('packaging and documentation', () => {
  it('docker-compose.yml is valid YAML: Redis and two replicas of this Dockerfile sharing the budget, in sandbox mode', () => {
    type Service = { build?: string; image?: string; environment?: Record<string, string>; ports?: string[]; depends_on?: Record<string, unknown> };
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
    assert.match(String(compose.services.redis?.image), /^redis:/);
    const replicas = Object.entries(compose.services).filter(([, service]) => service.build === '.');
    assert.equal(replicas.length, 2);
    for (const [name, replica] of replicas) {
      assert.equal(replica.environment?.REDIS_URL, 'redis://redis:6379', name);
      assert.notEqual(replica.environment?.NODE_ENV, 'production');
      assert.equal(replica.environment?.UPSTREAM_BASE_URL, undefined);
      assert.ok(replica.depends_on && 'redis' in replica.depends_on);
    }
    assert.deepEqual(replicas.map(([, r]) => r.ports?.[0]).sort(), ['8081:8080', '8082:8080']);
    // Metrics on their own port, published on loopback only.
    for (const [name, replica] of replicas) {
      assert.equal(replica.environment?.ADMIN_PORT, '9090', name);
      assert.match(String(replica.ports?.[1]), /^127\.0\.0\.1:909\d:9090$/, name);
    }
  });

  it('the Dockerfile copies files that exist, runs non-root with a HEALTHCHECK, and its CMD is what the build produces', async () => {
    const dockerfile = read('Dockerfile');
    assert.equal((dockerfile.match(/^FROM node:24/gm) ?? []).length, 2, 'two stages on Node 24');
    assert.match(dockerfile, /^USER node$/m);
    assert.match(dockerfile, /^HEALTHCHECK /m);
    assert.match(dockerfile, /ADMIN_PORT=9090/);
    for (const match of dockerfile.matchAll(/^COPY (?!--from)(?:--chown=\S+ )?(.+) \S+$/gm)) {
      for (const source of (match[1] as string).split(' ')) assert.ok(existsSync(source), `COPY source ${source} exists`);
    }
    const cmd = /^CMD \["node", (?:"--[^"]+", )*"([^"]+)"\]$/m.exec(dockerfile)?.[1];
    assert.equal(cmd, 'dist/main.js');

    // Inside the project, so the built files resolve node_modules as dist/ would.
    const outDir = mkdtempSync(join(process.cwd(), 'dist-test-'));
    try {
      const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { encoding: 'utf8' });
      assert.equal(build.status, 0, build.stdout + build.stderr);
      const built = join(outDir, 'main.js');
      assert.ok(existsSync(built));
      // The built output runs: with bad configuration it refuses to start with the one-line message.
      const run = spawnSync(process.execPath, [built], { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' }, encoding: 'utf8', timeout: 20_000 });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /^gateway: invalid configuration: UPSTREAM_BASE_URL is required/);
      // In sandbox mode the built output finds the example front-end where the image puts it.
      const sandbox = spawn(process.execPath, [built], { env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        let out = '';
        sandbox.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        await eventually(() => /^Gateway: +http:\/\/127\.0\.0\.1:\d+$/m.test(out), 'the built sandbox started', 20_000);
        const origin = /^Gateway: +(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1] as string;
        const page = await fetch(`${origin}/app/`);
        assert.equal(page.status, 200);
        assert.match(await page.text(), /<script type="module" src="app.js">/);
        assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      } finally {
        sandbox.kill('SIGTERM');
        await once(sandbox, 'exit');
      }
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
