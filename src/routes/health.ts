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

/** The paths the health routes answer: the API's front chain sends these to Express (src/app.ts). */
export const HEALTH_PATHS = { live: '/healthz', ready: '/readyz', metrics: '/metrics' } as const;

/** The health routes; /metrics too when a registry is given (not on the API port with ADMIN_PORT). */
export function healthRoutes(readiness: ReadinessProbe, registry: Registry | undefined): Router {
  const router = Router({ caseSensitive: true, strict: true });
  router.get(HEALTH_PATHS.live, (_req, res) => {
    contextOf(res).route = `GET ${HEALTH_PATHS.live}`;
    res.setHeader('cache-control', 'no-store');
    res.json({ status: 'ok' });
  });
  // Anyone may scrape it, as the contract says: bind the port or firewall it in production.
  if (registry) {
    router.get(HEALTH_PATHS.metrics, async (_req, res) => {
      contextOf(res).route = `GET ${HEALTH_PATHS.metrics}`;
      res.setHeader('content-type', registry.contentType);
      res.setHeader('cache-control', 'no-store');
      res.end(await registry.metrics());
    });
  }
  router.get(HEALTH_PATHS.ready, async (_req, res) => {
    contextOf(res).route = `GET ${HEALTH_PATHS.ready}`;
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
