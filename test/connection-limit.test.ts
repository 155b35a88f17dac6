import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config.ts';
import { startProcessSetup, type ProcessSetup } from './support/gateway-process.ts';
import { eventually } from './support/harness.ts';

const FD_LIMIT = 256;
const MAX_CONNECTIONS = 100;
const SILENT = 400;
const HEADERS_TIMEOUT_MS = 2000;

/** A socket that sends nothing but reads everything the gateway sends, and notes when it closes. */
function silentSocket(url: string): { socket: Socket; received: () => string; closed: () => boolean; closedAt: () => number } {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let text = '';
  let closedAt = 0;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('close', () => (closedAt = Date.now()));
  socket.on('error', () => {});
  return { socket, received: () => text, closed: () => closedAt > 0, closedAt: () => closedAt };
}

async function healthz(url: string): Promise<number | 'refused'> {
  try {
    return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 'refused';
  }
}

describe('a flood of silent connections (SERVER_MAX_CONNECTIONS)', () => {
  let setup: ProcessSetup;
  before(async () => {
    setup = await startProcessSetup(
      {},
      { SERVER_MAX_CONNECTIONS: String(MAX_CONNECTIONS), SERVER_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), SERVER_REQUEST_TIMEOUT_MS: '3000' },
      { fdLimit: FD_LIMIT },
    );
  });
  after(() => setup.close());

  it('When 400 silent sockets arrive at a gateway with 256 file descriptors, then the excess is refused at once, nothing runs out, and legitimate calls are served again once the silent ones time out', async () => {
    const url = setup.gateway.url;
    const openedAt = Date.now();
    const silent = Array.from({ length: SILENT }, () => silentSocket(url));
    // Beyond the limit, connections are closed at once, long before any header deadline.
    await eventually(() => silent.filter((s) => s.closed()).length >= SILENT - MAX_CONNECTIONS, 'the excess connections are closed');
    const refusedEarly = silent.filter((s) => s.closed() && s.closedAt() - openedAt < HEADERS_TIMEOUT_MS / 2);
    assert.ok(refusedEarly.length >= SILENT - MAX_CONNECTIONS, `${refusedEarly.length} refused at once`);
    for (const s of refusedEarly) assert.equal(s.received(), '', 'a refused connection gets nothing, not a half answer');
    // While the limit is full, a new connection is refused too.
    assert.equal(await healthz(url), 'refused');

    // The silent ones that were let in read their 408 and are closed at the header deadline.
    await eventually(() => silent.every((s) => s.closed()), 'every silent socket is closed', 15_000);
    const timedOut = silent.filter((s) => s.received().startsWith('HTTP/1.1 408 '));
    assert.ok(timedOut.length >= MAX_CONNECTIONS - 5 && timedOut.length <= MAX_CONNECTIONS, `${timedOut.length} got 408`);
    assert.equal(await healthz(url), 200, 'served again as soon as the silent ones are gone');

    const metrics = await (await fetch(`${url}/metrics`)).text();
    const refused = Number(/^gateway_connections_refused_total (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(refused >= SILENT - MAX_CONNECTIONS, `gateway_connections_refused_total ${refused}`);
    const output = setup.gateway.stdout() + setup.gateway.stderr();
    assert.doesNotMatch(output, /EMFILE|ENFILE|too many open files/i);
    assert.equal(setup.gateway.child.exitCode, null, 'the gateway is still running');
  });
});

describe('SERVER_MAX_CONNECTIONS against the file descriptor limit', () => {
  it('Unset, it fits the descriptors left; set too high, start-up fails naming the most that fits', () => {
    const fits = parseConfig({}, { openFiles: 1024 });
    assert.ok(fits.ok);
    assert.ok(fits.config.server.maxConnections < 1024 && fits.config.server.maxConnections > 800, String(fits.config.server.maxConnections));
    const tooMany = parseConfig({ SERVER_MAX_CONNECTIONS: '5000' }, { openFiles: 1024 });
    assert.equal(tooMany.ok, false);
    assert.match(tooMany.ok ? '' : tooMany.problems.join('; '), /SERVER_MAX_CONNECTIONS=5000 does not fit this process's 1024 file descriptors \(ulimit -n\) .* set it to at most \d+, or raise the limit/);
    const roomy = parseConfig({}, { openFiles: 1_048_576 });
    assert.ok(roomy.ok);
    assert.equal(roomy.config.server.maxConnections, 4096);
  });
});
