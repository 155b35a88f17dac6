// Reference: node:http alone answering every request with a small JSON 404, no framework, no log:
// what any Node.js server pays per answer, the floor for the gateway's cheapest refusals.
import { createServer } from 'node:http';

const body = JSON.stringify({ detailCode: '404 Not found', messages: [{ locale: 'en-US', localeOrigin: 'DEFAULT', text: 'Not found.' }] });
const server = createServer((_req, res) => {
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${(server.address() as { port: number }).port}`);
});
