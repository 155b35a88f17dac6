import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import express from 'express';
import { expressPrototypes } from '../src/http/express-prototypes.ts';

async function serve(listener: (req: IncomingMessage, res: ServerResponse) => void, classes: ReturnType<typeof expressPrototypes>) {
  const server = createServer({ IncomingMessage: classes.IncomingMessage, ServerResponse: classes.ServerResponse }, listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('requests born with the Express app’s prototypes', () => {
  it('arrive with the app’s request and response prototypes, so Express has nothing to swap', async () => {
    const prototypes = expressPrototypes();
    const app = express();
    app.get('/', (req, res) => {
      res.json({ sameApp: req.app === app && res.app === app, host: req.get('host') });
    });
    // Before adopt the server already exists and answers, as in src/main.ts (it listens first).
    const seen: boolean[][] = [];
    let handle = (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(503).end();
    const server = await serve((req, res) => {
      seen.push([Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response]);
      handle(req, res);
    }, prototypes);
    try {
      assert.equal((await fetch(server.url)).status, 503);
      prototypes.adopt(app);
      handle = app;
      const answer = await fetch(server.url);
      assert.equal(answer.status, 200);
      assert.deepEqual(await answer.json(), { sameApp: true, host: new URL(server.url).host });
      assert.deepEqual(seen, [
        [false, false],
        [true, true],
      ]);
    } finally {
      await server.close();
    }
  });
});
