// Reference for the CSV: node:http and undici piping the file through and hashing it with SHA-256
// on the way, nothing else (no auth, no limits, no log). What any Node.js proxy that records a
// digest of what it forwards pays per byte, on one core: the floor for the gateway's CSV figures.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Agent } from 'undici';

const origin = process.env.UPSTREAM_ORIGIN as string;
const token = process.env.UPSTREAM_TOKEN as string;
const agent = new Agent({ connections: 32 });
const server = createServer((req, res) => {
  void (async () => {
    const reply = await agent.request({ origin, path: req.url as string, method: 'GET', headers: { authorization: `Bearer ${token}` } });
    const headers: Record<string, string> = { 'content-type': String(reply.headers['content-type'] ?? 'text/csv') };
    if (reply.headers['content-length'] !== undefined) headers['content-length'] = String(reply.headers['content-length']);
    res.writeHead(reply.statusCode, headers);
    const digest = createHash('sha256');
    reply.body.on('data', (chunk: Buffer) => digest.update(chunk));
    await pipeline(reply.body, res);
    digest.digest('hex');
  })().catch(() => res.destroy());
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
