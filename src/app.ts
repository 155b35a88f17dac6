import cors from 'cors';
import type { RequestListener } from 'node:http';
import express, { type Express, type RequestHandler, type Router } from 'express';
import type { AuditSink } from './audit/sink.ts';
import { auditTrail } from './audit/trail.ts';
import type { CallerVerifier } from './auth/verify-caller.ts';
import type { Config } from './config.ts';
import { accessLog } from './http/access-log.ts';
import { refuseBodies } from './http/body-limit.ts';
import { errorHandler, notFound } from './http/error-handler.ts';
import { frontChain, isUnder } from './http/front-chain.ts';
import { preflightOnly } from './http/preflight.ts';
import type { LiveStreams } from './http/live-streams.ts';
import { apiAnswerHeaders } from './http/security-headers.ts';
import type { IdempotencyStore } from './idempotency/store.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { HEALTH_PATHS, healthRoutes, type ReadinessProbe } from './routes/health.ts';
import { operationRoutes, servedOperations } from './routes/operation-routes.ts';
import { BACKCHANNEL_LOGOUT_PATH, SESSION_ROUTES_MOUNT, sessionRoutes, type SessionDeps } from './sessions/routes.ts';
import { authenticator } from './auth/authenticate.ts';
import { OPERATIONS, pathPattern } from './operations/table.ts';
import type { UpstreamClient } from './upstream/client.ts';

export interface AppDeps {
  config: Pick<Config, 'corsOrigins' | 'access' | 'upstream' | 'server' | 'adminPort'>;
  logger: Logger;
  verifier: CallerVerifier;
  upstream: UpstreamClient;
  readiness: ReadinessProbe;
  idempotency: IdempotencyStore;
  metrics: Metrics;
  audit: AuditSink;
  liveStreams: LiveStreams;
  /** Browser sessions, when OIDC_ISSUER is set. */
  sessions?: SessionDeps | undefined;
  /** The sandbox's example front-end (/app/), mounted after the operations. */
  frontEnd?: Router | undefined;
}

function bareExpress(): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('case sensitive routing', true);
  app.set('strict routing', true);
  app.set('query parser', false);
  return app;
}

/** The API port's app: what serves each request, and the Express app behind it. */
export interface ApiApp {
  listener: RequestListener;
  /** For the health, session and front-end routes; a server adopts its prototypes (main.ts). */
  express: Express;
}

/** Wiring only: every behaviour lives in the modules it mounts. Never listens. */
export function createApp(deps: AppDeps): ApiApp {
  const served = servedOperations(OPERATIONS, deps.config.access).map(pathPattern);
  // Every request passes these, in this order, outside Express (src/http/front-chain.ts).
  const front: RequestHandler[] = [
    accessLog(deps.logger, deps.metrics),
    apiAnswerHeaders(),
    refuseBodies(deps.config.server.maxBodyBytes, deps.sessions ? [BACKCHANNEL_LOGOUT_PATH] : []),
    preflightOnly(deps.config.corsOrigins, served),
  ];
  if (deps.config.corsOrigins.length > 0) {
    front.push(
      cors({
        // An explicit list, never "*": with session mode the cookie may come along (credentials).
        origin: deps.config.corsOrigins,
        credentials: deps.sessions !== undefined,
        methods: ['GET', 'POST'],
        allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Idempotency-Key', ...(deps.sessions ? ['X-CSRF'] : [])],
        exposedHeaders: ['X-Request-Id', 'Content-Disposition', 'Retry-After'],
        maxAge: 600,
      }),
    );
  }

  const audit = auditTrail(deps.audit, deps.metrics);
  // The operations last in the chain: they are nearly every request, and no other route shares
  // their paths. An operation whose access list is configured empty is not served: its path answers 404.
  front.push(
    operationRoutes(OPERATIONS, {
      authenticate: authenticator(deps.verifier, deps.sessions),
      upstream: deps.upstream,
      access: deps.config.access,
      idempotency: deps.idempotency,
      idempotencyWaitMs: deps.config.upstream.deadlineMs,
      audit,
      metrics: deps.metrics,
      liveStreams: deps.liveStreams,
      idleTimeoutMs: deps.config.upstream.streamIdleTimeoutMs,
    }),
  );

  const app = bareExpress();
  // With ADMIN_PORT, /metrics is served on the admin listener only (createAdminApp).
  app.use(healthRoutes(deps.readiness, deps.config.adminPort === undefined ? deps.metrics.registry : undefined));
  if (deps.sessions) app.use(sessionRoutes(deps.sessions));
  if (deps.frontEnd) app.use(deps.frontEnd);
  app.use(notFound);
  app.use(errorHandler);
  const healthPaths: readonly string[] = Object.values(HEALTH_PATHS);
  const sessions = deps.sessions !== undefined;
  // The sandbox's front-end serves '/' and '/app' and all under it: there, Express sees every path.
  const everyPath = deps.frontEnd !== undefined;
  const mayRoute = (path: string) => everyPath || healthPaths.includes(path) || (sessions && isUnder(path, SESSION_ROUTES_MOUNT));
  return { listener: frontChain(front, { express: app, mayRoute, onError: errorHandler }), express: app };
}

/** The admin listener's app (ADMIN_PORT): /metrics, and a copy of /healthz and /readyz. */
export function createAdminApp(deps: Pick<AppDeps, 'logger' | 'metrics' | 'readiness'>): Express {
  const app = bareExpress();
  app.use(accessLog(deps.logger, deps.metrics));
  app.use(apiAnswerHeaders());
  app.use(healthRoutes(deps.readiness, deps.metrics.registry));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
