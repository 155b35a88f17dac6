// One route per served operation of the table: label and audit, the caller and its grant, the
// path and query checked, then the upstream call, relayed as JSON or streamed as a file.
import { Router, type Request, type Response } from 'express';
import type { AuditTrail } from '../audit/trail.ts';
import type { Grant } from '../auth/grants.ts';
import { requireGrant } from '../auth/require-grant.ts';
import type { Authenticate } from '../auth/authenticate.ts';
import { GatewayError } from '../errors.ts';
import { contextOf, type Egress } from '../http/context.ts';
import { validIdempotencyKey } from '../idempotency/run-once.ts';
import type { IdempotencyStore } from '../idempotency/store.ts';
import { paramNames, pathOf, pathPattern, routeOf, type Operation, type OperationName } from '../operations/table.ts';
import type { UpstreamClient } from '../upstream/client.ts';
import { onBehalfOf } from './on-behalf-of.ts';
import { relayBuffered, sendBuffered, storedResult } from './relay.ts';
import { runIdempotent } from './run-idempotent.ts';
import { streamFile, type StreamDeps } from './stream-file.ts';

export interface OperationDeps extends StreamDeps {
  authenticate: Authenticate;
  upstream: UpstreamClient;
  access: Readonly<Record<OperationName, Grant[]>>;
  idempotency: IdempotencyStore;
  /** How long a repeat waits for a first call with the same key that is still running. */
  idempotencyWaitMs: number;
  audit: AuditTrail;
}

/** The operations whose access list is not empty: the others are not served (404). */
export const servedOperations = (operations: readonly Operation[], access: Readonly<Record<OperationName, Grant[]>>) =>
  operations.filter((op) => access[op.name].length > 0);

/** The path's values checked, in the template's order, and the declared query parameters checked. */
function valuesOf(op: Operation, req: Request): Record<string, string> {
  const captured = req.params as unknown as Record<string, string | undefined>;
  const values: Record<string, string> = {};
  paramNames(op).forEach((name, index) => {
    values[name] = (op.params[name] as Operation['params'][string]).check(captured[index]);
  });
  if (op.query.length === 0) return values;
  const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
  for (const param of op.query) {
    const given = query.getAll(param.name);
    if (given.length > 1) throw new GatewayError('ERR_BAD_REQUEST', `The query parameter ${param.name} is given more than once.`);
    if (given.length === 0) {
      if (param.required) throw new GatewayError('ERR_BAD_REQUEST', `The query parameter ${param.name} is required.`);
      continue;
    }
    values[param.name] = param.check(given[0]);
  }
  return values;
}

/** Declared query parameters only, re-encoded: nothing else the caller sent goes upstream. */
function upstreamPath(op: Operation, values: Record<string, string>): string {
  const query = op.query.filter((p) => values[p.name] !== undefined).map((p) => `${p.name}=${encodeURIComponent(values[p.name] as string)}`);
  return pathOf(op, values) + (query.length > 0 ? `?${query.join('&')}` : '');
}

function operationRoute(op: Operation, deps: OperationDeps): Router {
  const router = Router({ caseSensitive: true, strict: true });
  const pattern = pathPattern(op);
  // Express answers HEAD with the GET handler; a HEAD must not pull a whole file from SailPoint.
  if (op.method === 'GET') router.head(pattern, (_req, _res, next) => next('router'));
  const handle = async (req: Request, res: Response) => {
    const values = valuesOf(op, req);
    const key = op.idempotencyKey ? validIdempotencyKey(req.headers['idempotency-key']) : undefined;
    const egress = contextOf(res).egress as Egress;
    egress.target = Object.fromEntries(Object.entries(op.params).map(([name, param]) => [param.auditAs, values[name] as string]));
    const requester = onBehalfOf(res);
    const call = {
      operation: op.name,
      method: op.method,
      path: upstreamPath(op, values),
      repeatability: op.repeatability,
      callClass: op.callClass,
      ...requester,
    };
    const { answer } = op;
    if (answer.kind === 'file') {
      const reply = await deps.upstream.send({ ...call, accept: answer.accept });
      if (reply.statusCode === 200) await streamFile(reply, res, { name: answer.fileName(values), defaultType: answer.contentType(values) }, egress, deps);
      else await relayBuffered(reply, res);
      return;
    }
    const send = async () => storedResult(await deps.upstream.sendBuffered({ ...call, accept: 'application/json' }));
    if (key === undefined) {
      sendBuffered(res, await send());
      return;
    }
    const fingerprint = paramNames(op).map((name) => values[name]).join('/');
    sendBuffered(
      res,
      await runIdempotent(res, { store: deps.idempotency, caller: requester.caller, key, fingerprint, waitMs: deps.idempotencyWaitMs, signal: requester.signal }, send),
    );
  };
  router[op.method === 'GET' ? 'get' : 'post'](
    pattern,
    (_req, res, next) => {
      contextOf(res).route = routeOf(op);
      deps.audit(res, op.name);
      next();
    },
    requireGrant(deps.authenticate, deps.access[op.name], { fileDownload: op.method === 'GET' && op.answer.kind === 'file' }),
    handle,
  );
  return router;
}

export function operationRoutes(operations: readonly Operation[], deps: OperationDeps): Router {
  const router = Router({ caseSensitive: true, strict: true });
  for (const op of servedOperations(operations, deps.access)) router.use(operationRoute(op, deps));
  return router;
}
