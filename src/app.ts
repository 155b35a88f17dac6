import cors from 'cors';
import express, { type Express } from 'express';
import type { AuditSink } from './audit/sink.ts';
import { auditTrail } from './audit/trail.ts';
import type { CallerVerifier } from './auth/verify-caller.ts';
import type { Config } from './config.ts';
import { accessLog } from './http/access-log.ts';
import { refuseBodies } from './http/body-limit.ts';
import { errorHandler, notFound } from './http/error-handler.ts';
import { preflightOnly } from './http/preflight.ts';
import type { LiveStreams } from './http/live-streams.ts';
import { securityHeaders } from './http/security-headers.ts';
import type { IdempotencyStore } from './idempotency/store.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';
import { campaignReportRoutes, RUN_REPORT_ROUTE } from './routes/campaign-reports.ts';
import { healthRoutes, type ReadinessProbe } from './routes/health.ts';
import { EXPORT_ROUTE, nonEmployeeExportRoutes } from './routes/non-employee-export.ts';
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

/** Wiring only: every behaviour lives in the modules it mounts. Never listens. */
export function createApp(deps: AppDeps): Express {
  const app = bareExpress();
  const { access } = deps.config;
  const servedRoutes = [...(access.runReport.length > 0 ? [RUN_REPORT_ROUTE] : []), ...(access.exportNonEmployees.length > 0 ? [EXPORT_ROUTE] : [])];

  app.use(accessLog(deps.logger, deps.metrics));
  app.use(securityHeaders());
  app.use(refuseBodies(deps.config.server.maxBodyBytes));
  app.use(preflightOnly(deps.config.corsOrigins, servedRoutes));
  if (deps.config.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: deps.config.corsOrigins,
        methods: ['GET', 'POST'],
        allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Idempotency-Key'],
        exposedHeaders: ['X-Request-Id', 'Content-Disposition', 'Retry-After'],
        maxAge: 600,
      }),
    );
  }

  const audit = auditTrail(deps.audit, deps.metrics);
  // With ADMIN_PORT, /metrics is served on the admin listener only (createAdminApp).
  app.use(healthRoutes(deps.readiness, deps.config.adminPort === undefined ? deps.metrics.registry : undefined));
  // An operation whose access list is configured empty is not served: its path answers 404.
  if (access.runReport.length > 0) app.use(
    campaignReportRoutes({
      verifier: deps.verifier,
      upstream: deps.upstream,
      anyOf: deps.config.access.runReport,
      idempotency: deps.idempotency,
      idempotencyWaitMs: deps.config.upstream.deadlineMs,
      audit,
    }),
  );
  if (access.exportNonEmployees.length > 0) app.use(
    nonEmployeeExportRoutes({
      verifier: deps.verifier,
      upstream: deps.upstream,
      anyOf: deps.config.access.exportNonEmployees,
      metrics: deps.metrics,
      audit,
      liveStreams: deps.liveStreams,
      idleTimeoutMs: deps.config.upstream.streamIdleTimeoutMs,
    }),
  );
  app.use(notFound);
  app.use(errorHandler);
  return app;
}

/** The admin listener's app (ADMIN_PORT): /metrics, and a copy of /healthz and /readyz. */
export function createAdminApp(deps: Pick<AppDeps, 'logger' | 'metrics' | 'readiness'>): Express {
  const app = bareExpress();
  app.use(accessLog(deps.logger, deps.metrics));
  app.use(securityHeaders());
  app.use(healthRoutes(deps.readiness, deps.metrics.registry));
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
