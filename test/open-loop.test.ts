// The bench's open-loop load generator (bench/open-loop.c) against servers whose behaviour is
// known: its figures are only worth what these promises are. Bounds here are from below (a
// stall the generator must see), never a speed the machine must reach.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { openLoopProcess } from '../bench/open-loop.ts';

const servers: Server[] = [];
after(() => Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve)))));

async function serve(listener: RequestListener, settings: { maxRequestsPerSocket?: number } = {}) {
  const server = createServer(listener);
  if (settings.maxRequestsPerSocket) server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  let requests = 0;
  server.on('request', () => (requests += 1));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/probe`, requests: () => requests };
}

const run = (url: string, onWarm?: () => void) => openLoopProcess(url, { ratePerS: 100, seconds: 1, warmUpS: 0.2, method: 'POST', headers: { authorization: 'Bearer x' } }, onWarm);

describe('the open-loop load generator', () => {
  it('sends at its rate, times only the part after the warm-up, and sends the request as given', async () => {
    const seen: string[] = [];
    const target = await serve((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.rawHeaders.filter((_, i) => i % 2 === 0).join(',')} ${req.headers.authorization}`);
      setTimeout(() => res.end('{}'), 40);
    });
    const result = await run(target.url);
    assert.equal(result.sent, 100);
    assert.equal(result.ok, 100);
    assert.equal(result.errors, 0);
    assert.equal(target.requests(), 120, 'the 20 warm-up calls reach the server but are not counted');
    assert.ok(result.p50Ms >= 40, `each answer took 40 ms, the p50 read ${result.p50Ms}`);
    // The names wrk sends, no Content-Length, the caller's headers before Host (bench/open-loop.ts says why).
    assert.deepEqual(new Set(seen), new Set(['POST /probe authorization,Host Bearer x']));
  });

  it("counts a target's stall in the calls due during it, not only in those already sent (no coordinated omission)", async () => {
    let stalled = false;
    const target = await serve((_req, res) => void res.end('{}'));
    const result = await run(target.url, () => {
      // 0.4 s into the timed part the server's process stops answering for 300 ms.
      setTimeout(() => {
        stalled = true;
        const until = Date.now() + 300;
        while (Date.now() < until);
      }, 400);
    });
    assert.ok(stalled);
    assert.equal(result.ok, 100);
    assert.ok(result.p99Ms >= 200, `calls due during a 300 ms stall waited for it, the p99 read ${result.p99Ms}`);
  });

  it('carries on over connections the server closes after a few requests (as nginx does after 1000)', async () => {
    const target = await serve((_req, res) => void res.end('{}'), { maxRequestsPerSocket: 7 });
    const result = await run(target.url);
    assert.deepEqual([result.sent, result.ok, result.errors], [100, 100, 0]);
  });

  it('counts an answer of 300 or more as sent but not ok, and a connection cut without an answer as an error', async () => {
    const refusing = await serve((_req, res) => void res.writeHead(404).end('{}'));
    assert.deepEqual(
      await run(refusing.url).then((r) => [r.sent, r.ok, r.errors]),
      [100, 0, 0],
    );
    const cutting = await serve((req) => req.socket.destroy());
    const cut = await run(cutting.url);
    assert.equal(cut.ok, 0);
    assert.equal(cut.errors, cut.sent);
    assert.ok(cut.sent > 0);
  });
});
