import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { get, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { parseConfig } from '../src/config.ts';
import { eventually, exportPath, runReportPath, startHarness, type Harness } from './support/harness.ts';

/** A raw connection that records everything the server sends and whether it closed. */
function rawClient(url: string): { socket: Socket; received: () => string; closed: () => boolean } {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1');
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  return { socket, received: () => text, closed: () => closed };
}

const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { detailCode: string; trackingId: string };

describe('slow and hostile clients', () => {
  let h: Harness;
  let caller: string;
  before(async () => {
    h = await startHarness({
      env: {
        SERVER_HEADERS_TIMEOUT_MS: '1000',
        SERVER_REQUEST_TIMEOUT_MS: '1500',
        SERVER_KEEP_ALIVE_TIMEOUT_MS: '500',
        SERVER_MAX_REQUESTS_PER_SOCKET: '2',
        SERVER_MAX_HEADER_BYTES: '8192',
      },
      tenant: { sources: { wide: { kind: 'bulk', blocks: 100, contentLength: true } } },
    });
    caller = `Bearer ${await h.token({ roles: ['CERT_ADMIN'], scope: 'idn:nesr:read' })}`;
  });
  after(() => h.close());

  it('When a client trickles its headers forever (slowloris), then it gets a 408 in the contract shape and is dropped', async () => {
    const client = rawClient(h.url);
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n');
    const trickle = setInterval(() => client.socket.writable && client.socket.write(`X-Slow-${Date.now()}: 1\r\n`), 200);
    try {
      await eventually(() => client.closed(), 'the slowloris connection is closed', 15_000);
    } finally {
      clearInterval(trickle);
    }
    assert.match(client.received(), /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.equal(bodyOf(client.received()).detailCode, '408 Request Timeout');
  });

  it('When a download takes far longer than the request deadlines on a slow link, then it still completes byte for byte', async () => {
    const started = Date.now();
    const result = await new Promise<{ complete: boolean; sha256: string; bytes: number }>((resolve, reject) => {
      get(`${h.url}${exportPath('wide')}`, { headers: { authorization: caller } }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        // About 2 MiB/s: the 4 MiB+ export takes over 2 s, past both the 1 s and 1.5 s deadlines.
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          hash.update(chunk);
          res.pause();
          setTimeout(() => res.resume(), Math.ceil(chunk.length / 2048));
        });
        res.on('close', () => resolve({ complete: res.complete, sha256: hash.digest('hex'), bytes }));
      }).on('error', reject);
    });
    assert.equal(result.complete, true);
    assert.equal(result.sha256, h.tenant.exports.sha256.at(-1));
    assert.ok(Date.now() - started > 1500, 'the download outlived the request deadline (else this test proves nothing)');
  });

  it('When the headers are larger than SERVER_MAX_HEADER_BYTES, then 431 in the contract shape', async () => {
    const client = rawClient(h.url);
    client.socket.write(`GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`);
    await eventually(() => client.closed(), 'the connection is closed');
    assert.match(client.received(), /^HTTP\/1\.1 431 /);
    assert.equal(bodyOf(client.received()).detailCode, '431 Request Header Fields Too Large');
  });

  it('When the request is not HTTP, then 400 in the contract shape', async () => {
    const client = rawClient(h.url);
    client.socket.write('HELLO THERE\r\n\r\n');
    await eventually(() => client.closed(), 'the connection is closed');
    assert.match(client.received(), /^HTTP\/1\.1 400 /);
    const trackingId = bodyOf(client.received()).trackingId;
    assert.match(trackingId, /^[0-9a-f]{32}$/);
    assert.match(client.received(), new RegExp(`\r\nx-request-id: ${trackingId}\r\n`), 'X-Request-Id on every answer, this one too');
  });

  for (const [name, headers, sent] of [
    ['declares a body over the limit', { 'content-length': '2048' }, 64],
    ['sends a chunked body over the limit', { 'transfer-encoding': 'chunked' }, 2048],
  ] as const) {
    it(`When a request ${name}, then 413 before anything goes upstream, and the connection closes`, async () => {
      const before = h.tenant.requests.length;
      const response = await new Promise<{ status: number; connection: string | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest(`${h.url}${runReportPath()}`, { method: 'POST', headers: { authorization: caller, ...headers } }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body }));
        });
        req.on('error', reject);
        // Only the start of the body: the gateway must answer without waiting for the rest.
        req.write('x'.repeat(sent));
      });
      assert.equal(response.status, 413);
      assert.equal(response.connection, 'close');
      assert.equal((JSON.parse(response.body) as { detailCode: string }).detailCode, '413 Content Too Large');
      assert.equal(h.tenant.requests.length, before);
    });
  }

  // What several HTTP clients send for a POST without a body: framing must not decide, size does.
  for (const [name, framing] of [
    ['an empty chunked body', 'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['a small chunked body', 'Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\n{}\n\r\n0\r\n\r\n'],
    ['Content-Length: 0', 'Content-Length: 0\r\n\r\n'],
    ['Content-Length: 0 and a form Content-Type', 'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n'],
  ] as const) {
    it(`When a report start comes with ${name}, then it is served and the connection stays usable`, async () => {
      const before = h.tenant.requests.length;
      const client = rawClient(h.url);
      const post = `POST ${runReportPath()} HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${caller}\r\n${framing}`;
      client.socket.write(post);
      await eventually(() => /\r\n\r\n\{\}/.test(client.received()), 'the first answer');
      assert.match(client.received(), /^HTTP\/1\.1 202 /);
      client.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
      await eventually(() => client.received().includes('"status"'), 'an answer to a second request on the same connection');
      assert.equal(client.closed(), false);
      client.socket.destroy();
      assert.equal(h.tenant.requests.length, before + 1);
    });
  }

  it('When a keep-alive connection reaches SERVER_MAX_REQUESTS_PER_SOCKET, then its last answer says Connection: close', async () => {
    const client = rawClient(h.url);
    const ask = () => client.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    const answers = () => client.received().split(/(?=HTTP\/1\.1 )/).filter((a) => a.length > 0);
    ask();
    await eventually(() => answers().length === 1 && answers()[0]!.includes('"status"'), 'the first answer');
    ask();
    await eventually(() => client.closed(), 'the connection closed after the second answer');
    assert.equal(answers().length, 2);
    assert.match(answers()[0]!, /\r\nconnection: keep-alive\r\n/i);
    assert.match(answers()[1]!, /\r\nconnection: close\r\n/i);
  });

  it('When a keep-alive connection sits idle past SERVER_KEEP_ALIVE_TIMEOUT_MS, then the gateway closes it', async () => {
    const client = rawClient(h.url);
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n');
    await eventually(() => client.received().includes('\r\n\r\n'), 'the answer');
    assert.match(client.received(), /^HTTP\/1\.1 200 /);
    await eventually(() => client.closed(), 'the idle connection is closed');
  });

  it('When the header deadline would exceed the request deadline, then the configuration is refused', () => {
    const parsed = parseConfig({ SERVER_HEADERS_TIMEOUT_MS: '20000', SERVER_REQUEST_TIMEOUT_MS: '10000' });
    assert.equal(parsed.ok, false);
    assert.match(parsed.ok ? '' : parsed.problems.join('; '), /SERVER_HEADERS_TIMEOUT_MS must not exceed SERVER_REQUEST_TIMEOUT_MS/);
  });
});
