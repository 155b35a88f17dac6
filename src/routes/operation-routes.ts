// The served operations of the table, each matched by its method and path template: label and
// audit, the caller and its grant, the path and query checked, then the upstream call, relayed as
// JSON or streamed as a file.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuditTrail } from '../audit/trail.ts';
import type { Grant } from '../auth/grants.ts';
import { requireGrant } from '../auth/require-grant.ts';
import type { Authenticate } from '../auth/authenticate.ts';
import { GatewayError, MALFORMED } from '../errors.ts';
import { contextOf, type Egress } from '../http/context.ts';
import { validIdempotencyKey } from '../idempotency/run-once.ts';
import type { IdempotencyStore } from '../idempotency/store.ts';
import { paramNames, pathOf, pathPattern, routeOf, type Operation, type OperationName } from '../operations/table.ts';
import type { UpstreamClient } from '../upstream/client.ts';
import { budgetHolderOf, onBehalfOf } from './on-behalf-of.ts';
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

/**
 * A captured segment, percent-decoded as Express decodes route params (an empty one stays empty).
 * A sequence that does not decode is the caller's malformed request, refused before anything else.
 */
function decoded(segment: string): string {
  if (segment === '') return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw MALFORMED;
  }
}

/** The path's values checked, in the template's order, and the declared query parameters checked. */
function valuesOf(op: Operation, segments: readonly string[], req: Request): Record<string, string> {
  const values: Record<string, string> = {};
  paramNames(op).forEach((name, index) => {
    values[name] = (op.params[name] as Operation['params'][string]).check(segments[index]);
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

/** Serves the call; resolves with the caller's refusal (401 or 403) instead of rejecting with it. */
type Serve = (req: Request, res: Response, captured: readonly string[]) => Promise<GatewayError | undefined>;

function operationServer(op: Operation, deps: OperationDeps): Serve {
  const checkGrant = requireGrant(deps.authenticate, deps.access[op.name], { fileDownload: op.method === 'GET' && op.answer.kind === 'file' });
  const handle = async (req: Request, res: Response, segments: readonly string[]) => {
    const values = valuesOf(op, segments, req);
    const key = op.idempotencyKey ? validIdempotencyKey(req.headers['idempotency-key']) : undefined;
    const egress = contextOf(res).egress as Egress;
    egress.target = Object.fromEntries(Object.entries(op.params).map(([name, param]) => [param.auditAs, values[name] as string]));
    // A call with an idempotency key may be answered from its first call's result, never refused here.
    const refusal = key === undefined ? deps.upstream.refusalNow({ operation: op.name, callClass: op.callClass, caller: budgetHolderOf(res) }) : undefined;
    if (refusal) throw refusal;
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
  const route = routeOf(op);
  return async (req, res, captured) => {
    const segments = captured.map(decoded);
    contextOf(res).route = route;
    deps.audit(res, op.name);
    const refusal = await checkGrant(req, res);
    if (refusal) return refusal;
    await handle(req, res, segments);
    return undefined;
  };
}

/**
 * The served operations as one middleware: the method, then the path against each template, in
 * the table's order. Express's router did the same walk through a router and three layers per
 * operation: this cut a small call's CPU by about 5 % (docs/PERFORMANCE.md). Matching is
 * case-sensitive and strict, as the app's routing settings are; a HEAD matches nothing, so it is a
 * 404 and never pulls a whole file from SailPoint.
 */
export function operationRoutes(operations: readonly Operation[], deps: OperationDeps): RequestHandler {
  const routes = servedOperations(operations, deps.access).map((op) => ({ method: op.method, pattern: pathPattern(op), serve: operationServer(op, deps) }));
  return (req: Request, res: Response, next: NextFunction): void => {
    const path = req.path;
    for (const route of routes) {
      if (route.method !== req.method) continue;
      const match = route.pattern.exec(path);
      if (match) {
        route.serve(req, res, match.slice(1)).then((refusal) => {
          if (refusal) next(refusal);
        }, next);
        return;
      }
    }
    next();
  };
}
