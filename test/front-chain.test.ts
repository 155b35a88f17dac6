// The plain chain in front of Express (src/http/front-chain.ts): Express's contract for its
// handlers, the hand-over to Express, and the 404 it answers itself, over real HTTP.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { NOT_FOUND } from '../src/errors.ts';
import { frontChain, isUnder } from '../src/http/front-chain.ts';
import { startHarness, type Harness } from './support/harness.ts';

/** Served by node's own request classes, as a server without createHttpServer's would. */
async function serve(listener: RequestListener) {
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** A chain of handlers that record their names, an Express app behind it that records what it saw, and an error handler that answers 599. */
function rig(handlers: Array<[string, RequestHandler]>, mayRoute: (path: string) => boolean) {
  const ran: string[] = [];
  const app = express();
  app.use((req, res) => {
    ran.push(`express ${req.path}`);
    res.end('express');
  });
  const onError: ErrorRequestHandler = (error, _req, res) => {
    ran.push(`error ${error === NOT_FOUND ? 'NOT_FOUND' : (error as Error).message}`);
    res.statusCode = 599;
    res.end();
  };
  const chain = handlers.map(([name, handler]): RequestHandler => (req, res, next) => {
    ran.push(name);
    return handler(req, res, next);
  });
  return { ran, listener: frontChain(chain, { express: app, mayRoute, onError }) };
}

describe('the front chain', () => {
  it('runs its handlers in order and hands what they leave to Express when one of its routes may be the path’s', async () => {
    const { ran, listener } = rig(
      [
        ['first', (_req, _res, next) => next()],
        ['second', (_req, _res, next) => next()],
      ],
      (path) => path === '/healthz',
    );
    const server = await serve(listener);
    try {
      const answer = await fetch(`${server.url}/healthz?x=1`);
      assert.equal(await answer.text(), 'express');
      assert.deepEqual(ran, ['first', 'second', 'express /healthz']);
    } finally {
      await server.close();
    }
  });

  it('answers a path none of Express’s routes may serve with NOT_FOUND, and Express never sees it', async () => {
    const { ran, listener } = rig([['first', (_req, _res, next) => next()]], (path) => path === '/healthz');
    const server = await serve(listener);
    try {
      assert.equal((await fetch(`${server.url}/v3/accounts`)).status, 599);
      assert.deepEqual(ran, ['first', 'error NOT_FOUND']);
    } finally {
      await server.close();
    }
  });

  it('stops at an error passed to next or thrown, and takes it to the error handler; a falsy value is no error, as in Express', async () => {
    const passed = rig(
      [
        ['falsy', (_req, _res, next) => next(null)],
        ['passes', (_req, _res, next) => next(new Error('passed'))],
        ['never', (_req, _res, next) => next()],
      ],
      () => true,
    );
    const thrown = rig(
      [
        ['throws', () => {
          throw new Error('thrown');
        }],
        ['never', (_req, _res, next) => next()],
      ],
      () => true,
    );
    for (const [{ ran, listener }, expected] of [
      [passed, ['falsy', 'passes', 'error passed']],
      [thrown, ['throws', 'error thrown']],
    ] as const) {
      const server = await serve(listener);
      try {
        assert.equal((await fetch(`${server.url}/x`)).status, 599);
        assert.deepEqual(ran, expected);
      } finally {
        await server.close();
      }
    }
  });

  it('gives requests born with node’s own classes the Express app’s prototypes, so Express’s methods work before Express', async () => {
    const { listener } = rig(
      [
        ['express methods', (req, res) => {
          res.status(201).end(`${req.path} ${res.req === req}`);
        }],
      ],
      () => false,
    );
    const server = await serve(listener);
    try {
      const answer = await fetch(`${server.url}/a/b?c=d`);
      assert.equal(answer.status, 201);
      assert.equal(await answer.text(), '/a/b true');
    } finally {
      await server.close();
    }
  });

  it('counts a path as under a mount as Express does: the mount itself or below it, case and all', () => {
    assert.deepEqual(
      ['/bff', '/bff/', '/bff/login', '/bff//x', '/bffx', '/BFF/x', '/', '/x/bff'].map((path) => isUnder(path, '/bff')),
      [true, true, true, true, false, false, false, false],
    );
  });
});

describe('the gateway’s 404, answered in front of Express', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('is the same answer as the 404 Express’s own routers give, but for its request id', async () => {
    // An unknown path is refused by the chain; a POST to a health path goes into Express and finds no route.
    const [front, behind] = await Promise.all([fetch(`${h.url}/v3/accounts`), fetch(`${h.url}/healthz`, { method: 'POST' })]);
    const shape = async (answer: Response) => {
      const headers = Object.fromEntries([...answer.headers].filter(([name]) => name !== 'date' && name !== 'x-request-id'));
      const body = (await answer.json()) as Record<string, unknown>;
      assert.equal(body.trackingId, answer.headers.get('x-request-id'));
      return { status: answer.status, headers, body: { ...body, trackingId: undefined } };
    };
    const [frontShape, behindShape] = [await shape(front), await shape(behind)];
    assert.equal(frontShape.status, 404);
    assert.deepEqual(frontShape, behindShape);
    const lines = h.logs().filter((line) => line.msg === 'request completed' && line.status === 404);
    assert.deepEqual(lines.map((line) => [line.path, line.route, line.error]).sort(), [
      ['/healthz', 'unmatched', NOT_FOUND.message],
      ['/v3/accounts', 'unmatched', NOT_FOUND.message],
    ]);
  });
});
