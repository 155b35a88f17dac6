// Every environment variable the gateway reads, declared once: its parse rule (with its range),
// its default, and one line of doc. The typed config reads values through these declarations;
// .env.example and the README's configuration table are generated from them
// (`npm run config:docs`; a test fails when they are out of date). The access variables are
// declared by the operation table, one per operation.
import { OPERATIONS } from '../operations/table.ts';

export type Rule = { kind: 'int'; min: number; max: number } | { kind: 'text' };

export type Section = 'listening' | 'listener limits' | 'the tenant' | 'caller tokens' | 'browser sessions' | 'who may call what';

export interface Variable {
  name: string;
  section: Section;
  rule: Rule;
  /** The value used when it is unset; undefined: none. */
  default?: string;
  /** The README's default column, when the plain value does not say it all. */
  defaultText?: string;
  /** What .env.example writes, when not the default (empty: a default that depends on the machine). */
  exampleValue?: string;
  /** One line, Markdown. */
  doc: string;
}

const int = (min: number, max: number): Rule => ({ kind: 'int', min, max });
const text: Rule = { kind: 'text' };

const BASE: readonly Variable[] = [
  { name: "PORT", section: "listening", rule: int(0, 65_535), default: "8080", doc: "listen port (`0`: any free port)" },
  { name: "HOST", section: "listening", rule: text, default: "0.0.0.0", doc: "listen address" },
  { name: "ADMIN_PORT", section: "listening", rule: int(0, 65_535), defaultText: "unset: everything on the main listener", doc: "when `ADMIN_PORT` is set, `/metrics` is served only on this second listener (and `/healthz`, `/readyz` on both), so the scrape endpoint stays off the API port; the container sets `9090`" },
  { name: "ADMIN_HOST", section: "listening", rule: text, defaultText: "`HOST`", doc: "the admin listener's address" },
  { name: "LOG_LEVEL", section: "listening", rule: text, default: "info", doc: "pino level: `fatal` `error` `warn` `info` `debug` `trace` `silent`" },
  { name: "NODE_ENV", section: "listening", rule: text, defaultText: "unset", doc: "`production` refuses sandbox mode" },
  { name: "DRAIN_TIMEOUT_MS", section: "listening", rule: int(0, 600_000), default: "25000", doc: "on SIGTERM/SIGINT, how long in-flight requests get to finish" },
  { name: "CORS_ORIGINS", section: "listening", rule: text, defaultText: "none (no CORS headers)", doc: "comma list of front-end origins allowed cross-origin" },
  { name: "AUDIT_LOG", section: "listening", rule: text, default: "stdout", doc: "where audit records go: `stdout` (interleaved with the logs, each line starting `{\"kind\":\"audit\"`) or an absolute file path (appended; checked at start)" },
  { name: "SERVER_HEADERS_TIMEOUT_MS", section: "listener limits", rule: int(100, 600_000), default: "10000", doc: "a request's headers must arrive within this, or the client gets 408 and is dropped (slowloris)" },
  { name: "SERVER_REQUEST_TIMEOUT_MS", section: "listener limits", rule: int(100, 600_000), default: "15000", doc: "the whole request must arrive within this; the answer is not limited by it, so a long download on a slow link goes on" },
  { name: "SERVER_KEEP_ALIVE_TIMEOUT_MS", section: "listener limits", rule: int(0, 3_600_000), default: "65000", doc: "an idle keep-alive connection is closed after this; keep it above your load balancer's idle timeout (60 s on AWS ALB) so the balancer never reuses a connection the gateway is closing" },
  { name: "SERVER_MAX_CONNECTIONS", section: "listener limits", rule: int(1, 1_000_000), default: "4096", exampleValue: "", defaultText: "`4096` (or what fits)", doc: "open client connections at most; beyond it a new connection is closed at once and counted (`gateway_connections_refused_total`). It must fit the process's file descriptors (`ulimit -n`) less those kept for the upstream pool and the rest; unset, it is lowered to fit; set too high, the gateway refuses to start and names the most that fits" },
  { name: "SERVER_MAX_REQUESTS_PER_SOCKET", section: "listener limits", rule: int(0, 100_000_000), default: "10000", doc: "requests one keep-alive connection may carry; the last answer says `Connection: close`, so load spreads again over replicas (`0`: no limit)" },
  { name: "SERVER_MAX_HEADER_BYTES", section: "listener limits", rule: int(1024, 1_048_576), default: "16384", doc: "larger request headers get 431 (a JWT with hundreds of roles fits in the default)" },
  { name: "SERVER_MAX_BODY_BYTES", section: "listener limits", rule: int(0, 1_048_576), default: "1024", doc: "the routes take no body: an empty or small one (`Content-Length: 0`, an empty chunked body) is read and ignored; a body over this, declared or chunked, gets 413 and the connection is closed" },
  { name: "UPSTREAM_BASE_URL", section: "the tenant", rule: text, defaultText: "none: sandbox mode", doc: "tenant API origin, e.g. `https://acme.api.identitynow.com` (the gateway adds `/v3/…`)" },
  { name: "UPSTREAM_TOKEN_URL", section: "the tenant", rule: text, defaultText: "`${UPSTREAM_BASE_URL}/oauth/token`", doc: "client-credentials token endpoint" },
  { name: "UPSTREAM_CLIENT_ID", section: "the tenant", rule: text, defaultText: "required with `UPSTREAM_BASE_URL`", doc: "the gateway's SailPoint personal access token: its client id" },
  { name: "UPSTREAM_CLIENT_SECRET", section: "the tenant", rule: text, defaultText: "required with `UPSTREAM_BASE_URL`", doc: "…and its secret (never logged)" },
  { name: "UPSTREAM_RATE_LIMIT", section: "the tenant", rule: int(1, 100_000), default: "100", doc: "at most this many upstream API calls, retries included, in **any** window of `UPSTREAM_RATE_WINDOW_MS`" },
  { name: "UPSTREAM_RATE_WINDOW_MS", section: "the tenant", rule: int(1, 3_600_000), default: "10000", doc: "the length of that window" },
  { name: "UPSTREAM_RATE_BURST", section: "the tenant", rule: int(1, 100_000), default: "10", defaultText: "`10` (at most the limit)", doc: "within that window, how many calls may go at once before the rest are paced at one per `UPSTREAM_RATE_WINDOW_MS / UPSTREAM_RATE_LIMIT`" },
  { name: "UPSTREAM_MAX_CONCURRENCY", section: "the tenant", rule: int(1, 10_000), default: "16", doc: "interactive (run-report) upstream calls in flight at once" },
  { name: "UPSTREAM_EXPORT_CONCURRENCY", section: "the tenant", rule: int(1, 10_000), default: "4", doc: "CSV exports in flight at once; a stream holds its slot until its last byte" },
  { name: "UPSTREAM_EXPORT_PER_CALLER", section: "the tenant", rule: int(1, 10_000), default: "2", defaultText: "`2` (or the total, if that is smaller)", doc: "exports one caller (JWT `sub`) may hold at once, running or waiting; beyond it, 429 at once. At most `UPSTREAM_EXPORT_CONCURRENCY`" },
  { name: "UPSTREAM_QUEUE_WAIT_MS", section: "the tenant", rule: int(0, 600_000), default: "5000", doc: "the longest a call may wait for budget; a call that cannot be served within it gets 429 at once (one due at the very end of it is given 20 ms more, for its timer)" },
  { name: "UPSTREAM_QUEUE_SIZE", section: "the tenant", rule: int(0, 1_000_000), default: "500", doc: "calls waiting for budget, all callers together; beyond it, 429" },
  { name: "UPSTREAM_QUEUE_PER_CALLER", section: "the tenant", rule: int(0, 1_000_000), default: "50", doc: "calls one caller (JWT `sub`) may have waiting; beyond it, 429" },
  { name: "UPSTREAM_TIMEOUT_MS", section: "the tenant", rule: int(1, 600_000), default: "10000", doc: "per attempt, until the response headers" },
  { name: "UPSTREAM_RETRIES", section: "the tenant", rule: int(0, 10), default: "2", doc: "retries after the first attempt (docs/UPSTREAM.md says which failures are retried)" },
  { name: "UPSTREAM_DEADLINE_MS", section: "the tenant", rule: int(1, 600_000), default: "25000", doc: "a call's whole budget for attempts, backoff and `Retry-After` waits" },
  { name: "UPSTREAM_RETRY_AFTER_CAP_MS", section: "the tenant", rule: int(0, 3_600_000), default: "60000", doc: "an upstream `Retry-After` longer than this is not waited for; the caller gets 429 at once" },
  { name: "STREAM_IDLE_TIMEOUT_MS", section: "the tenant", rule: int(1, 3_600_000), default: "30000", doc: "a CSV stream is cut after this long without a byte moving **in either direction**: SailPoint stopped sending, or the caller stopped reading (an idle limit, not a total one)" },
  { name: "REDIS_URL", section: "the tenant", rule: text, defaultText: "unset: in-process", doc: "shares the upstream budget, the cool-down and idempotency records across replicas" },
  { name: "REDIS_FALLBACK_PERCENT", section: "the tenant", rule: int(1, 100), default: "25", doc: "while Redis is unreachable, the share of the budget one replica uses alone (set it to at most 100 / replicas)" },
  { name: "IDEMPOTENCY_TTL_MS", section: "the tenant", rule: int(1000, 7 * 86_400_000), default: "600000", doc: "how long a run-report `Idempotency-Key` answers with the first result" },
  { name: "IDEMPOTENCY_MAX_KEYS_PER_CALLER", section: "the tenant", rule: int(1, 1_000_000), default: "1000", doc: "live `Idempotency-Key` records one caller may hold; past it, new keys get 429 until its oldest expires (one caller can never evict another's)" },
  { name: "HTTPS_PROXY", section: "the tenant", rule: text, defaultText: "unset", doc: "egress through a corporate proxy: every outbound HTTP request (SailPoint's API, its token endpoint, the caller-key JWKS) goes through it unless its host matches `NO_PROXY`. Redis is not HTTP and is reached directly" },
  { name: "NO_PROXY", section: "the tenant", rule: text, defaultText: "unset", doc: "hosts that bypass `HTTPS_PROXY`: a comma list of hosts or domain suffixes; `*` for all" },
  { name: "AUTH_JWKS_URL", section: "caller tokens", rule: text, defaultText: "`AUTH_JWKS_URL` or `AUTH_PUBLIC_KEY` is required outside sandbox mode", doc: "caller-token keys from a JWKS URL; set this or `AUTH_PUBLIC_KEY`" },
  { name: "AUTH_PUBLIC_KEY", section: "caller tokens", rule: text, defaultText: "see `AUTH_JWKS_URL`", doc: "caller-token key: one PEM (`\n` escapes allowed) or public JWK" },
  { name: "AUTH_ISSUER", section: "caller tokens", rule: text, defaultText: "required outside sandbox mode", doc: "the required `iss` of caller tokens" },
  { name: "AUTH_AUDIENCE", section: "caller tokens", rule: text, defaultText: "required outside sandbox mode", doc: "the required `aud` (a comma list means any of them)" },
  { name: "AUTH_ALGORITHMS", section: "caller tokens", rule: text, default: "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA", doc: "accepted `alg` values: asymmetric only; `none` and `HS*` are refused at start" },
  { name: "AUTH_CLOCK_TOLERANCE_S", section: "caller tokens", rule: int(0, 3600), default: "30", doc: "allowed clock skew for `exp`, `nbf` and a future `iat`" },
  { name: "AUTH_MAX_TOKEN_LIFETIME_S", section: "caller tokens", rule: int(60, 31_536_000), default: "86400", doc: "a token whose `exp` is further than this past its `iat` (or past now, without `iat`) is refused (401 \"JWT lives longer than this gateway accepts\"); an `iat` in the future beyond the clock tolerance is refused too (401 \"JWT was issued in the future\")" },
  { name: "AUTH_TYP", section: "caller tokens", rule: text, defaultText: "unset: not checked", doc: "when set, the token header's `typ` must be this, e.g. `at+jwt` for RFC 9068 access tokens (401 `unexpected \"typ\" header` otherwise)" },
  { name: "AUTH_ROLE_CLAIMS", section: "caller tokens", rule: text, default: "roles,authorities", doc: "claims whose values are the caller's **roles**: arrays, or space-separated strings. A dotted name is a path into nested claims (`realm_access.roles`), never a top-level claim of that literal name" },
  { name: "AUTH_SCOPE_CLAIMS", section: "caller tokens", rule: text, default: "scope,scp,permissions", doc: "claims whose values are the caller's **scopes**, read the same way. A scope never satisfies a role requirement, nor a role a scope one" },
  { name: "AUTH_JWKS_COOLDOWN_MS", section: "caller tokens", rule: int(0, 3_600_000), default: "10000", doc: "the shortest time between two JWKS refetches caused by an unknown `kid` (start-up and background fetches do not count), and between retries while no key could be loaded" },
  { name: "AUTH_JWKS_MAX_AGE_MS", section: "caller tokens", rule: int(1000, 86_400_000), default: "600000", doc: "keys older than this are refreshed in the background while the old ones keep serving" },
  { name: "AUTH_JWKS_TIMEOUT_MS", section: "caller tokens", rule: int(1, 60_000), default: "5000", doc: "timeout of one JWKS fetch" },
  { name: "OIDC_ISSUER", section: "browser sessions", rule: text, defaultText: "unset: session mode off", doc: "the identity provider's issuer URL for browser sessions (RFC 10017): its discovery document is read at start, and the gateway runs the login itself" },
  { name: "OIDC_CLIENT_ID", section: "browser sessions", rule: text, defaultText: "required with `OIDC_ISSUER`", doc: "the gateway's confidential client at the identity provider" },
  { name: "OIDC_CLIENT_SECRET", section: "browser sessions", rule: text, defaultText: "required with `OIDC_ISSUER`", doc: "…and its secret (never logged)" },
  { name: "OIDC_SCOPES", section: "browser sessions", rule: text, default: "openid profile offline_access", doc: "scopes asked for at login" },
  { name: "OIDC_PROMPT", section: "browser sessions", rule: text, defaultText: "unset: none sent", doc: "the `prompt` sent at login; `consent` for providers that grant `offline_access` only with it (OpenID Connect Core §11, node `oidc-provider`); Entra ID, Okta and Keycloak need none, and Entra would ask for consent at every login" },
  { name: "PUBLIC_ORIGIN", section: "browser sessions", rule: text, defaultText: "required with `OIDC_ISSUER`", doc: "the gateway's origin as browsers see it (`https://`, or `http://` on loopback); the redirect URI is `${PUBLIC_ORIGIN}/bff/callback`" },
  { name: "SESSION_SECRETS", section: "browser sessions", rule: text, defaultText: "required with `OIDC_ISSUER`", doc: "comma list of secrets of at least 32 bytes that sign the session cookie: the first signs, all verify (rotation)" },
  { name: "SESSION_IDLE_TIMEOUT_S", section: "browser sessions", rule: int(60, 604_800), default: "1800", doc: "a session ends after this long unused" },
  { name: "SESSION_MAX_AGE_S", section: "browser sessions", rule: int(60, 2_592_000), default: "28800", doc: "a session ends this long after login, whatever its use" },
];

const ACCESS: readonly Variable[] = OPERATIONS.map((op, i) => ({
  name: op.access.variable,
  section: 'who may call what',
  rule: text,
  default: op.access.default,
  doc:
    i === 0
      ? `who may call \`${op.method} ${op.path}\`: a comma list of \`role:NAME\` / \`scope:NAME\`, any one is enough; set empty, the operation is not served (404)`
      : `who may call \`${op.method} ${op.path}\`, the same way`,
}));

export const VARIABLES: readonly Variable[] = [...BASE, ...ACCESS];

export function variable(name: string): Variable {
  const found = VARIABLES.find((v) => v.name === name);
  if (!found) throw new Error(`configuration variable ${name} is not declared in src/config/variables.ts`);
  return found;
}
