// The only reader of process.env: environment → one typed, validated Config.
// Every problem is collected so an operator sees all of them in one line, not one per restart.
import { z } from 'zod';
import type { AuditDestination } from './audit/sink.ts';
import { parseGrant, type Grant, type GrantClaims } from './auth/grants.ts';
import { parseStaticKey } from './auth/key-source.ts';
import type { IdempotencyLimits } from './idempotency/store.ts';
import { OPERATIONS, type OperationName } from './operations/table.ts';
import { variable } from './config/variables.ts';


const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;

export interface UpstreamSettings {
  rateLimit: number;
  rateWindowMs: number;
  rateBurst: number;
  maxConcurrency: number;
  timeoutMs: number;
  retries: number;
  deadlineMs: number;
  streamIdleTimeoutMs: number;
  retryAfterCapMs: number;
  exportConcurrency: number;
  exportPerCaller: number;
  queueSize: number;
  perCallerQueue: number;
  queueWaitMs: number;
  /** Share of the budget (percent) one replica uses alone while Redis is unreachable. */
  fallbackPercent: number;
}

export interface AuthSettings {
  algorithms: string[];
  clockToleranceS: number;
  grantClaims: GrantClaims;
  /** A token whose exp lies further than this past its iat (or past now, without iat) is refused. */
  maxTokenLifetimeS: number;
  /** When set, the token header's typ must be this (e.g. at+jwt, RFC 9068). */
  typ: string | undefined;
  jwksCooldownMs: number;
  jwksMaxAgeMs: number;
  jwksTimeoutMs: number;
}

/** Where the tenant is and how caller tokens are trusted. Sandbox mode supplies these itself. */
export interface Targets {
  tenant: { baseUrl: URL; tokenUrl: URL; clientId: string; clientSecret: string };
  callers: { keys: KeySpec; issuer: string; audience: string[] };
}

/** Limits that protect the listening socket from slow and hostile clients. */
export interface ServerSettings {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxRequestsPerSocket: number;
  maxHeaderBytes: number;
  maxBodyBytes: number;
  maxConnections: number;
}

export type KeySpec = { kind: 'jwks'; url: URL } | { kind: 'static'; material: string };

/** Browser sessions (BFF mode): the gateway runs the login; undefined when OIDC_ISSUER is unset. */
export interface SessionSettings {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  scopes: string;
  /** The `prompt` parameter at login, when the provider needs one (`consent` for offline_access). */
  prompt: string | undefined;
  publicOrigin: URL;
  /** The first signs the cookie; all verify it. */
  secrets: string[];
  idleTimeoutS: number;
  maxAgeS: number;
}

export interface Config {
  sessions: SessionSettings | undefined;
  port: number;
  host: string;
  /** The admin listener (/metrics, /healthz, /readyz); undefined: those are on the main one. */
  adminPort: number | undefined;
  adminHost: string;
  logLevel: string;
  production: boolean;
  drainTimeoutMs: number;
  server: ServerSettings;
  audit: AuditDestination;
  corsOrigins: string[];
  redisUrl: string | undefined;
  idempotency: IdempotencyLimits;
  proxy: { httpsProxy: string | undefined; noProxy: string | undefined };
  upstream: UpstreamSettings;
  auth: AuthSettings;
  /** Per operation, the grants of which a caller needs any one; empty: the operation is not served. */
  access: Record<OperationName, Grant[]>;
  /** null means sandbox mode: no tenant configured and not in production. */
  targets: Targets | null;
}

export type Env = Record<string, string | undefined>;

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };


const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function list(raw: string): string[] {
  return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/** Reads variables one by one, recording a readable problem for each bad one. */
class EnvReader {
  readonly problems: string[] = [];
  private readonly env: Env;
  constructor(env: Env) {
    this.env = env;
  }

  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  /** A whole number within its declared range; its declared default when unset. */
  int(name: string): number {
    const { rule, default: fallback } = variable(name);
    const { min, max } = rule.kind === 'int' ? rule : { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER };
    const value = this.raw(name);
    if (value === undefined) return Number(fallback);
    const parsed = z.coerce.number().int().min(min).max(max).safeParse(value);
    if (!/^-?\d+$/.test(value) || !parsed.success) {
      this.problems.push(`${name} must be a whole number from ${min} to ${max} (got "${value}")`);
      return Number(fallback);
    }
    return parsed.data;
  }

  text(name: string): string {
    return this.raw(name) ?? variable(name).default ?? '';
  }

  list(name: string): string[] {
    const items = list(this.text(name));
    if (items.length === 0) this.problems.push(`${name} must list at least one value`);
    return items;
  }

  /** https:// always; plain http:// only for loopback hosts (local development and tests). */
  url(name: string, value: string | undefined): URL | undefined {
    if (value === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      this.problems.push(`${name} is not a valid URL (got "${value}")`);
      return undefined;
    }
    const loopback = LOOPBACK_HOSTS.has(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
      this.problems.push(`${name} must be an https:// URL (http:// is accepted only for 127.0.0.1, ::1 and localhost)`);
      return undefined;
    }
    if (url.username || url.password) {
      this.problems.push(`${name} must not carry credentials in the URL`);
      return undefined;
    }
    return url;
  }

  /**
   * An access list: `role:NAME` / `scope:NAME` entries. Unset takes the default; set but empty
   * means the operation is not served.
   */
  access(name: string): Grant[] {
    const value = this.env[name];
    const entries = list(value === undefined ? (variable(name).default ?? '') : value);
    const grants: Grant[] = [];
    for (const entry of entries) {
      const grant = parseGrant(entry);
      if (grant) grants.push(grant);
      else this.problems.push(`${name} entry "${entry}" must be role:NAME or scope:NAME (for example role:${entry.replace(/^\w+:/, '')} or scope:${entry.replace(/^\w+:/, '')})`);
    }
    return grants;
  }

  required(name: string): string | undefined {
    const value = this.raw(name);
    if (value === undefined) this.problems.push(`${name} is required when UPSTREAM_BASE_URL is set`);
    return value;
  }
}

function readTargets(r: EnvReader, production: boolean): Targets | null {
  const baseRaw = r.raw('UPSTREAM_BASE_URL');
  if (baseRaw === undefined) {
    if (production) r.problems.push('UPSTREAM_BASE_URL is required when NODE_ENV=production (sandbox mode is for development only)');
    return null;
  }
  const baseUrl = r.url('UPSTREAM_BASE_URL', baseRaw);
  if (baseUrl && baseUrl.pathname !== '/' ) {
    r.problems.push('UPSTREAM_BASE_URL must be the tenant API origin only, e.g. https://acme.api.identitynow.com (the gateway adds /v3/…)');
  }
  const tokenUrl = r.url('UPSTREAM_TOKEN_URL', r.raw('UPSTREAM_TOKEN_URL') ?? (baseUrl ? new URL('/oauth/token', baseUrl).href : undefined));
  const clientId = r.required('UPSTREAM_CLIENT_ID');
  const clientSecret = r.required('UPSTREAM_CLIENT_SECRET');

  const jwksRaw = r.raw('AUTH_JWKS_URL');
  const keyRaw = r.raw('AUTH_PUBLIC_KEY');
  let keys: KeySpec | undefined;
  if (jwksRaw !== undefined && keyRaw !== undefined) {
    r.problems.push('AUTH_JWKS_URL and AUTH_PUBLIC_KEY are exclusive: set one');
  } else if (jwksRaw !== undefined) {
    const url = r.url('AUTH_JWKS_URL', jwksRaw);
    if (url) keys = { kind: 'jwks', url };
  } else if (keyRaw !== undefined) {
    const material = keyRaw.replaceAll('\\n', '\n');
    try {
      parseStaticKey(material);
      keys = { kind: 'static', material };
    } catch (error) {
      r.problems.push((error as Error).message);
    }
  } else {
    r.problems.push('AUTH_JWKS_URL or AUTH_PUBLIC_KEY is required outside sandbox mode');
  }
  const issuer = r.raw('AUTH_ISSUER');
  if (issuer === undefined) r.problems.push('AUTH_ISSUER is required outside sandbox mode');
  const audience = list(r.raw('AUTH_AUDIENCE') ?? '');
  if (audience.length === 0) r.problems.push('AUTH_AUDIENCE is required outside sandbox mode');

  if (!baseUrl || !tokenUrl || !clientId || !clientSecret || !keys || !issuer || audience.length === 0) return null;
  return { tenant: { baseUrl, tokenUrl, clientId, clientSecret }, callers: { keys, issuer, audience } };
}

/** What the machine allows, read by main (the config itself stays a pure function of its inputs). */
export interface ProcessLimits {
  /** The soft limit on open file descriptors (ulimit -n), when known. */
  openFiles?: number;
}

/**
 * Descriptors the gateway needs besides its client connections: the upstream pool (one per call
 * admission lets run, for the API, the token endpoint and the JWKS origins), Redis, the audit
 * file, the admin listener, and Node's own.
 */
export const fdReserve = (upstream: Pick<UpstreamSettings, 'maxConcurrency' | 'exportConcurrency'>) =>
  3 * (upstream.maxConcurrency + upstream.exportConcurrency + 1) + 64;

const MIN_SECRET_BYTES = 32;

function readSessions(r: EnvReader): SessionSettings | undefined {
  const issuerRaw = r.raw('OIDC_ISSUER');
  if (issuerRaw === undefined) return undefined;
  const issuer = r.url('OIDC_ISSUER', issuerRaw);
  const need = (name: string) => {
    const value = r.raw(name);
    if (value === undefined) r.problems.push(`${name} is required when OIDC_ISSUER is set`);
    return value;
  };
  const clientId = need('OIDC_CLIENT_ID');
  const clientSecret = need('OIDC_CLIENT_SECRET');
  const originRaw = need('PUBLIC_ORIGIN');
  const publicOrigin = r.url('PUBLIC_ORIGIN', originRaw);
  if (publicOrigin && publicOrigin.pathname !== '/') r.problems.push('PUBLIC_ORIGIN must be an origin only, e.g. https://gateway.example.com');
  const secrets = list(need('SESSION_SECRETS') ?? '');
  const short = secrets.filter((s) => Buffer.byteLength(s) < MIN_SECRET_BYTES).length;
  if (short > 0) r.problems.push(`SESSION_SECRETS entries must be at least ${MIN_SECRET_BYTES} bytes each (${short} too short): generate one with "openssl rand -base64 48"`);
  const idleTimeoutS = r.int('SESSION_IDLE_TIMEOUT_S');
  const maxAgeS = r.int('SESSION_MAX_AGE_S');
  if (!issuer || !clientId || !clientSecret || !publicOrigin || secrets.length === 0 || short > 0) return undefined;
  return { issuer, clientId, clientSecret, scopes: r.text('OIDC_SCOPES'), prompt: r.raw('OIDC_PROMPT'), publicOrigin, secrets, idleTimeoutS, maxAgeS };
}

function readServer(r: EnvReader, upstream: UpstreamSettings, limits: ProcessLimits): ServerSettings {
  const server: ServerSettings = {
    headersTimeoutMs: r.int('SERVER_HEADERS_TIMEOUT_MS'),
    requestTimeoutMs: r.int('SERVER_REQUEST_TIMEOUT_MS'),
    keepAliveTimeoutMs: r.int('SERVER_KEEP_ALIVE_TIMEOUT_MS'),
    maxRequestsPerSocket: r.int('SERVER_MAX_REQUESTS_PER_SOCKET'),
    maxHeaderBytes: r.int('SERVER_MAX_HEADER_BYTES'),
    maxBodyBytes: r.int('SERVER_MAX_BODY_BYTES'),
    maxConnections: r.int('SERVER_MAX_CONNECTIONS'),
  };
  // Node refuses a header deadline later than the whole-request deadline.
  if (server.headersTimeoutMs > server.requestTimeoutMs) r.problems.push('SERVER_HEADERS_TIMEOUT_MS must not exceed SERVER_REQUEST_TIMEOUT_MS');
  // Connections beyond the descriptors left would fail with EMFILE, legitimate ones and the
  // upstream pool included: the default fits the machine, an explicit value must.
  if (limits.openFiles !== undefined) {
    const room = Math.max(1, limits.openFiles - fdReserve(upstream));
    if (r.raw('SERVER_MAX_CONNECTIONS') === undefined) server.maxConnections = Math.min(server.maxConnections, room);
    else if (server.maxConnections > room) {
      r.problems.push(`SERVER_MAX_CONNECTIONS=${server.maxConnections} does not fit this process's ${limits.openFiles} file descriptors (ulimit -n) with ${fdReserve(upstream)} kept for the upstream pool and the rest: set it to at most ${room}, or raise the limit`);
    }
  }
  return server;
}

function readAudit(r: EnvReader): AuditDestination {
  const value = r.text('AUDIT_LOG');
  if (value === 'stdout') return { kind: 'stdout' };
  if (!value.startsWith('/')) r.problems.push(`AUDIT_LOG must be "stdout" or an absolute file path (got "${value}")`);
  return { kind: 'file', path: value };
}

function readAlgorithms(r: EnvReader): string[] {
  const algorithms = r.list('AUTH_ALGORITHMS');
  const allowed: readonly string[] = ASYMMETRIC_ALGORITHMS;
  const bad = algorithms.filter((a) => !allowed.includes(a));
  if (bad.length > 0) {
    r.problems.push(`AUTH_ALGORITHMS accepts only asymmetric algorithms (${ASYMMETRIC_ALGORITHMS.join(', ')}); not ${bad.join(', ')}`);
  }
  return algorithms.filter((a) => allowed.includes(a));
}

export function parseConfig(env: Env, limits: ProcessLimits = {}): ConfigResult {
  const r = new EnvReader(env);
  const production = r.raw('NODE_ENV') === 'production';

  const logLevel = r.text('LOG_LEVEL');
  if (!LOG_LEVELS.includes(logLevel)) r.problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);

  const host = r.text('HOST');
  const port = r.int('PORT');
  const adminPort = r.raw('ADMIN_PORT') === undefined ? undefined : r.int('ADMIN_PORT');
  const adminHost = r.raw('ADMIN_HOST') ?? host;
  if (adminPort !== undefined && adminPort !== 0 && adminPort === port && adminHost === host) r.problems.push('ADMIN_PORT must differ from PORT');
  const upstream: UpstreamSettings = {
    rateLimit: r.int('UPSTREAM_RATE_LIMIT'),
    rateWindowMs: r.int('UPSTREAM_RATE_WINDOW_MS'),
    rateBurst: r.int('UPSTREAM_RATE_BURST'),  // clamped to the limit below when unset
    maxConcurrency: r.int('UPSTREAM_MAX_CONCURRENCY'),
    timeoutMs: r.int('UPSTREAM_TIMEOUT_MS'),
    retries: r.int('UPSTREAM_RETRIES'),
    deadlineMs: r.int('UPSTREAM_DEADLINE_MS'),
    streamIdleTimeoutMs: r.int('STREAM_IDLE_TIMEOUT_MS'),
    retryAfterCapMs: r.int('UPSTREAM_RETRY_AFTER_CAP_MS'),
    exportConcurrency: r.int('UPSTREAM_EXPORT_CONCURRENCY'),
    exportPerCaller: r.int('UPSTREAM_EXPORT_PER_CALLER'),
    queueSize: r.int('UPSTREAM_QUEUE_SIZE'),
    perCallerQueue: r.int('UPSTREAM_QUEUE_PER_CALLER'),
    queueWaitMs: r.int('UPSTREAM_QUEUE_WAIT_MS'),
    fallbackPercent: r.int('REDIS_FALLBACK_PERCENT'),
  };
  // Unset, the share follows a smaller total down; set, it must leave room for somebody else.
  if (r.raw('UPSTREAM_EXPORT_PER_CALLER') === undefined) upstream.exportPerCaller = Math.min(upstream.exportPerCaller, upstream.exportConcurrency);
  else if (upstream.exportPerCaller > upstream.exportConcurrency) r.problems.push('UPSTREAM_EXPORT_PER_CALLER must not exceed UPSTREAM_EXPORT_CONCURRENCY');
  if (r.raw('UPSTREAM_RATE_BURST') === undefined) upstream.rateBurst = Math.min(upstream.rateBurst, upstream.rateLimit);
  else if (upstream.rateBurst > upstream.rateLimit) r.problems.push('UPSTREAM_RATE_BURST must not exceed UPSTREAM_RATE_LIMIT');
  if (r.raw('AUTH_GRANT_CLAIMS') !== undefined) {
    r.problems.push('AUTH_GRANT_CLAIMS is no longer read: roles and scopes are kept apart now; set AUTH_ROLE_CLAIMS (default roles,authorities) and AUTH_SCOPE_CLAIMS (default scope,scp,permissions), and write access lists as role:NAME / scope:NAME');
  }
  const auth: AuthSettings = {
    algorithms: readAlgorithms(r),
    clockToleranceS: r.int('AUTH_CLOCK_TOLERANCE_S'),
    grantClaims: { role: r.list('AUTH_ROLE_CLAIMS'), scope: r.list('AUTH_SCOPE_CLAIMS') },
    maxTokenLifetimeS: r.int('AUTH_MAX_TOKEN_LIFETIME_S'),
    typ: r.raw('AUTH_TYP'),
    jwksCooldownMs: r.int('AUTH_JWKS_COOLDOWN_MS'),
    jwksMaxAgeMs: r.int('AUTH_JWKS_MAX_AGE_MS'),
    jwksTimeoutMs: r.int('AUTH_JWKS_TIMEOUT_MS'),
  };
  const access = Object.fromEntries(OPERATIONS.map((op) => [op.name, r.access(op.access.variable)])) as Record<OperationName, Grant[]>;
  const corsOrigins = list(r.raw('CORS_ORIGINS') ?? '');
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) r.problems.push(`CORS_ORIGINS entries must be origins like https://app.example.com (got "${origin}")`);
  }
  const redisRaw = r.raw('REDIS_URL');
  if (redisRaw !== undefined && !/^rediss?:\/\//.test(redisRaw)) r.problems.push('REDIS_URL must start with redis:// or rediss://');
  const httpsProxy = r.raw('HTTPS_PROXY') ?? r.raw('https_proxy');
  if (httpsProxy !== undefined && !URL.canParse(httpsProxy)) r.problems.push('HTTPS_PROXY is not a valid URL');

  const targets = readTargets(r, production);
  const sessions = readSessions(r);
  const drainTimeoutMs = r.int('DRAIN_TIMEOUT_MS');
  const server = readServer(r, upstream, limits);
  const audit = readAudit(r);
  const idempotency: IdempotencyLimits = {
    ttlMs: r.int('IDEMPOTENCY_TTL_MS'),
    maxKeysPerCaller: r.int('IDEMPOTENCY_MAX_KEYS_PER_CALLER'),
  };

  if (r.problems.length > 0) return { ok: false, problems: r.problems };
  return {
    ok: true,
    config: deepFreeze({
      sessions, port, host, adminPort, adminHost, logLevel, production, drainTimeoutMs, server, audit, corsOrigins, upstream, auth, access, targets, idempotency,
      redisUrl: redisRaw,
      proxy: { httpsProxy, noProxy: r.raw('NO_PROXY') ?? r.raw('no_proxy') },
    }),
  };
}

/** Built once at the edge and never changed after: every part frozen, all the way down. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The one line an operator reads when the gateway refuses to start. */
export function formatProblems(problems: string[]): string {
  return `gateway: invalid configuration: ${problems.join('; ')}`;
}
