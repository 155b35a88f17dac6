import { createHash } from 'node:crypto';
import type { Express, Router } from 'express';
import type { Dispatcher } from 'undici';
import { createAdminApp, createApp, type ApiApp } from './app.ts';
import { createAuditSink } from './audit/sink.ts';
import { createLiveStreams } from './http/live-streams.ts';
import { jwksKeySource } from './auth/jwks-key-source.ts';
import { parseStaticKey, staticKeySource, type KeySource } from './auth/key-source.ts';
import { createCallerVerifier } from './auth/verify-caller.ts';
import type { Config, Targets } from './config.ts';
import type { Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { Check } from './routes/health.ts';
import { createAdmission } from './upstream/admission.ts';
import { memoryIdempotencyStore, redisIdempotencyStore } from './idempotency/store.ts';
import { createRedisClient } from './redis.ts';
import { createRedisWindow } from './upstream/budget/redis-window.ts';
import { createLocalWindow } from './upstream/budget/window.ts';
import { createUpstreamClient } from './upstream/client.ts';
import { createDispatcher, fetchThrough } from './upstream/dispatcher.ts';
import { createTokenProvider } from './upstream/token-provider.ts';
import { createOidcLogin } from './sessions/login.ts';
import { memorySessionStore } from './sessions/store.ts';
import { redisSessionStore } from './sessions/redis-store.ts';
import { memoryPendingLogins, redisPendingLogins } from './sessions/pending-logins.ts';

export interface Gateway {
  app: ApiApp;
  /** /metrics, /healthz and /readyz for the admin listener, when ADMIN_PORT is set. */
  adminApp: Express | undefined;
  metrics: Metrics;
  /** From now on readiness fails, so load balancers stop sending new work. */
  startDraining(): void;
  /** Cuts the CSV streams still running, visibly and with "drain" as the cause; returns how many. */
  cutStreams(): number;
  /** Loads caller keys and the upstream credential, logging one line per dependency. */
  warm(): Promise<Check[]>;
  /** What a start must not go past: today, a session provider whose discovery fails. One line each. */
  startProblems(): Promise<string[]>;
  close(): Promise<void>;
}

const USER_AGENT = 'sailpoint-bff-gateway/0.1';
// In-process sessions, oldest out first beyond this (about 1 KiB each: the tokens and claims).
const MAX_SESSIONS = 100_000;

function keySourceFor(targets: Targets, config: Config, logger: Logger, dispatcher: Dispatcher): KeySource {
  const spec = targets.callers.keys;
  if (spec.kind === 'static') return staticKeySource(parseStaticKey(spec.material));
  return jwksKeySource({
    url: spec.url,
    cooldownMs: config.auth.jwksCooldownMs,
    maxAgeMs: config.auth.jwksMaxAgeMs,
    timeoutMs: config.auth.jwksTimeoutMs,
    logger: logger.child({ component: 'jwks' }),
    fetch: fetchThrough(dispatcher),
  });
}

/** Builds every long-lived part from the config and hands them to createApp. */
export interface GatewayExtras {
  /** More routes, before the operations: the sandbox's example front-end at /app/. */
  frontEnd?: Router | undefined;
}

export function createGateway(config: Config, targets: Targets, logger: Logger, extras: GatewayExtras = {}): Gateway {
  // First: it is the one part that can refuse to start (an unwritable file), and nothing is open yet.
  const audit = createAuditSink(config.audit, logger);
  const dispatcher = createDispatcher(config);
  const tokens = createTokenProvider({
    tokenUrl: targets.tenant.tokenUrl,
    clientId: targets.tenant.clientId,
    clientSecret: targets.tenant.clientSecret,
    dispatcher,
    timeoutMs: config.upstream.timeoutMs,
    logger: logger.child({ component: 'upstream-credential' }),
  });
  const windowOptions = {
    limit: config.upstream.rateLimit,
    windowMs: config.upstream.rateWindowMs,
    burst: config.upstream.rateBurst,
    holdMs: config.upstream.timeoutMs,
  };
  // Every replica using this SailPoint client id shares one budget, so the key is the client id's.
  const budgetKey = `sailpoint-gateway:budget:${createHash('sha256').update(targets.tenant.clientId).digest('hex').slice(0, 16)}`;
  const redis = config.redisUrl ? createRedisClient(config.redisUrl) : undefined;
  const redisWindow = redis
    ? createRedisWindow({ ...windowOptions, redis, key: budgetKey, fallbackPercent: config.upstream.fallbackPercent, logger: logger.child({ component: 'budget' }) })
    : undefined;
  const window = redisWindow ?? createLocalWindow(windowOptions);
  const admission = createAdmission({
    store: window,
    concurrency: { interactive: config.upstream.maxConcurrency, export: config.upstream.exportConcurrency },
    queueSize: config.upstream.queueSize,
    perCallerQueue: config.upstream.perCallerQueue,
    exportsPerCaller: config.upstream.exportPerCaller,
    queueWaitMs: config.upstream.queueWaitMs,
    // Frees in other replicas are not announced: look again this often while calls wait.
    pollMs: redisWindow ? 50 : undefined,
  });
  const keys = keySourceFor(targets, config, logger, dispatcher);
  const verifier = createCallerVerifier({
    keys,
    issuer: targets.callers.issuer,
    audience: targets.callers.audience,
    settings: config.auth,
  });
  const metrics = createMetrics();
  const upstream = createUpstreamClient({
    baseUrl: targets.tenant.baseUrl,
    dispatcher,
    tokens,
    admission,
    window,
    settings: config.upstream,
    userAgent: USER_AGENT,
    metrics,
  });

  const sessions = config.sessions && {
    settings: config.sessions,
    login: createOidcLogin(config.sessions, fetchThrough(dispatcher)),
    store: redis
      ? redisSessionStore(redis, { idleTimeoutS: config.sessions.idleTimeoutS, maxAgeS: config.sessions.maxAgeS, maxSessions: MAX_SESSIONS })
      : memorySessionStore({ idleTimeoutS: config.sessions.idleTimeoutS, maxAgeS: config.sessions.maxAgeS, maxSessions: MAX_SESSIONS }),
    pending: redis ? redisPendingLogins(redis) : memoryPendingLogins(),
    grantClaims: config.auth.grantClaims,
    metrics,
  };
  let draining = false;
  const checks = (): Check[] => [
    ...(draining ? [{ name: 'draining', ready: false, degraded: false, detail: 'shutting down: finishing in-flight requests' }] : []),
    { name: 'callerKeys', ...keys.status() },
    { name: 'upstreamCredential', ...tokens.status() },
    { name: 'upstreamBudget', ...window.status() },
    ...(sessions
      ? [
          { name: 'sessionProvider', ready: true, degraded: !sessions.login.ready(), detail: sessions.login.ready() ? 'discovered' : 'discovery not done yet or failing: logins answer 503, bearer callers are served' },
          { name: 'sessionStore', ...sessions.store.status() },
        ]
      : []),
  ].map(({ name, ready, degraded, detail }) => ({ name, ready, state: !ready ? 'failing' : degraded ? 'degraded' : 'ok', detail }));
  metrics.observe({ admission: () => admission.stats(), credential: () => tokens.status(), callerKeys: () => keys.status(), checks, sessions: () => sessions?.store.size() });

  // Only a gateway that is not warm fetches on a probe; each fetch is single-flight and throttled.
  const readiness = async (): Promise<Check[]> => {
    const current = checks();
    if (current.every((c) => c.ready)) return current;
    await Promise.all([keys.warm(), tokens.get().catch(() => undefined)]);
    return checks();
  };

  const idempotency = redis
    ? redisIdempotencyStore(redis, config.idempotency, logger.child({ component: 'idempotency' }))
    : memoryIdempotencyStore(config.idempotency);
  const liveStreams = createLiveStreams();
  const app = createApp({ config, logger, verifier, upstream, readiness, idempotency, metrics, audit, liveStreams, sessions, frontEnd: extras.frontEnd });
  const adminApp = config.adminPort === undefined ? undefined : createAdminApp({ logger, metrics, readiness });
  return {
    app,
    adminApp,
    metrics,
    startDraining() {
      draining = true;
    },
    cutStreams() {
      return liveStreams.cutAll('drain');
    },
    async startProblems() {
      if (!sessions) return [];
      return sessions.login.discover().then(
        () => [],
        (error: unknown) => [`OIDC_ISSUER: ${error instanceof Error ? error.message : String(error)}`],
      );
    },
    async warm() {
      await Promise.all([keys.warm(), tokens.get().catch(() => undefined), redisWindow?.connected(), sessions?.login.warm()]);
      const result = checks();
      for (const check of result) {
        const line = { dependency: check.name, ready: check.ready, detail: check.detail };
        if (check.ready) logger.info(line, 'dependency ready');
        else logger.warn(line, 'dependency not ready');
      }
      return result;
    },
    async close() {
      tokens.close();
      await window.close();
      await dispatcher.close();
      audit.flush();
    },
  };
}
