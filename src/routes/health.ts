import { Router } from 'express';
import type { Registry } from 'prom-client';
import { GatewayError } from '../errors.ts';
import { sendError } from '../http/error-handler.ts';
import { contextOf } from '../http/context.ts';

export interface Check {
  name: string;
  ready: boolean;
  /** ok; degraded (serving, but something behind it is failing: say so, don't leave rotation); or failing. */
  state: 'ok' | 'degraded' | 'failing';
  detail: string;
}

/** Readiness reads state the gateway keeps anyway; it never costs an upstream call once warm. */
export type ReadinessProbe = () => Promise<Check[]>;

/** The health routes; /metrics too when a registry is given (not on the API port with ADMIN_PORT). */
export function healthRoutes(readiness: ReadinessProbe, registry: Registry | undefined): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.get('/healthz', (_req, res) => {
    contextOf(res).route = 'GET /healthz';
    res.setHeader('cache-control', 'no-store');
    res.json({ status: 'ok' });
  });
  // Anyone may scrape it, as the contract says: bind the port or firewall it in production.
  if (registry) {
    router.get('/metrics', async (_req, res) => {
      contextOf(res).route = 'GET /metrics';
      res.setHeader('content-type', registry.contentType);
      res.setHeader('cache-control', 'no-store');
      res.end(await registry.metrics());
    });
  }
  router.get('/readyz', async (_req, res) => {
    contextOf(res).route = 'GET /readyz';
    const checks = await readiness();
    const failing = checks.filter((c) => !c.ready);
    if (failing.length === 0) {
      res.setHeader('cache-control', 'no-store');
      res.json({ status: 'ready', checks });
      return;
    }
    const why = failing.map((c) => `${c.name}: ${c.detail}`).join('; ');
    sendError(res, new GatewayError('ERR_NOT_READY', `Not ready: ${why}`, { retryAfterS: 5 }), { checks });
  });
  return router;
}
