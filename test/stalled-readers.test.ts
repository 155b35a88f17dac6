import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { download } from './support/download.ts';
import { eventually, exportPath, startHarness, type Harness } from './support/harness.ts';

// The attack: a caller with the export scope opens downloads and stops reading. 64 MiB is far more
// than the kernel's socket buffers hold, so a reader that stops really does stall the pipe.
const BIG_BLOCKS = 1000;
const IDLE_MS = 1000;

/** A client that sends the request and then never reads a byte (its socket is paused). */
function stalledReader(url: string, path: string, authorization: string): Socket {
  const { port } = new URL(url);
  const socket = connect(Number(port), '127.0.0.1', () => {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: gateway\r\nAuthorization: ${authorization}\r\n\r\n`);
    socket.pause();
  });
  socket.on('error', () => {});
  return socket;
}

const metric = async (h: Harness, line: RegExp) => {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return Number(line.exec(text)?.[1] ?? 'NaN');
};

describe('callers that stop reading a download', () => {
  let h: Harness;
  let attacker: string;
  let other: string;
  const sockets: Socket[] = [];
  before(async () => {
    h = await startHarness({
      env: { STREAM_IDLE_TIMEOUT_MS: String(IDLE_MS), UPSTREAM_EXPORT_CONCURRENCY: '4', UPSTREAM_EXPORT_PER_CALLER: '2' },
      tenant: { sources: { big: { kind: 'bulk', blocks: BIG_BLOCKS, contentLength: true }, small: { kind: 'bulk', blocks: 60, contentLength: false } } },
    });
    attacker = `Bearer ${await h.token({ sub: 'attacker', scope: 'idn:nesr:read' })}`;
    other = `Bearer ${await h.token({ sub: 'other', scope: 'idn:nesr:read' })}`;
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await h.close();
  });

  it('When a caller opens downloads and stops reading, then it holds at most its share, others are served, and its stalled streams are cut, aborted upstream and freed', async () => {
    sockets.push(stalledReader(h.url, exportPath('big'), attacker), stalledReader(h.url, exportPath('big'), attacker));
    await eventually(() => h.tenant.exports.started === 2, 'both stalled downloads started upstream');

    // Beyond its share (2 of the 4 slots) the same caller is refused at once.
    const third = await fetch(`${h.url}${exportPath('big')}`, { headers: { authorization: attacker } });
    assert.equal(third.status, 429);
    assert.deepEqual(await third.json(), { message: 'Rate Limit Exceeded' });
    assert.match(third.headers.get('retry-after') ?? '', /^\d+$/);

    // Everybody else still gets the slots that are left, byte for byte.
    const served = await download(`${h.url}${exportPath('small')}`, other);
    assert.equal(served.status, 200);
    assert.equal(served.complete, true);
    assert.equal(served.sha256, h.tenant.exports.sha256.at(-1));

    // Reading nothing for STREAM_IDLE_TIMEOUT_MS cuts them; the upstream requests are aborted.
    await eventually(() => h.tenant.exports.aborted === 2, 'the stalled downloads were aborted upstream', 15_000);
    assert.equal(await metric(h, /^gateway_csv_streams_cut_total\{cause="caller_stalled"\} (\d+)$/m), 2);
    await eventually(() => h.logs().filter((l) => l.kind === 'audit' && l.outcome === 'caller_stalled').length === 2, 'two audit records say caller_stalled');
    const cutLines = h.logs().filter((l) => l.msg === 'CSV stream cut short' && l.cause === 'caller_stalled');
    assert.equal(cutLines.length, 2);

    // The slots are free again: the same caller may download (and this time reads).
    const again = await download(`${h.url}${exportPath('small')}`, attacker);
    assert.equal(again.status, 200);
    assert.equal(again.complete, true);
  });

  it('When a slow reader keeps reading with pauses shorter than the idle timeout, then it gets every byte', async () => {
    const result = await new Promise<{ complete: boolean; sha256: string; pauses: number }>((resolve, reject) => {
      get(`${h.url}${exportPath('small')}`, { headers: { authorization: other } }, (res) => {
        const hash = createHash('sha256');
        let pauses = 0;
        let sinceLastPause = 0;
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          sinceLastPause += chunk.length;
          // Stop reading for most of the idle timeout after every MiB.
          if (sinceLastPause >= 1024 * 1024) {
            sinceLastPause = 0;
            pauses += 1;
            res.pause();
            setTimeout(() => res.resume(), IDLE_MS * 0.6);
          }
        });
        res.on('close', () => resolve({ complete: res.complete, sha256: hash.digest('hex'), pauses }));
      }).on('error', reject);
    });
    assert.equal(result.complete, true);
    assert.equal(result.sha256, h.tenant.exports.sha256.at(-1));
    assert.ok(result.pauses >= 3, `${result.pauses} pauses (else this test proves nothing)`);
  });
});
