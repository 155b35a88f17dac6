// Builds the real gateway against real loopback servers: the simulated tenant (upstream and token
// endpoint) and the development issuer (JWKS). Logs are captured as parsed JSON lines.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { RequestListener, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { parseConfig } from '../../src/config.ts';
import { createGateway, type Gateway } from '../../src/gateway.ts';
import { expressPrototypes } from '../../src/http/express-prototypes.ts';
import { createHttpServer } from '../../src/http/server.ts';
import { createLogger } from '../../src/log.ts';
import { frontEndRoutes } from '../../src/sandbox/front-end.ts';
import { startDevIssuer, type DevIssuer } from '../../src/sandbox/issuer.ts';
import { startTenant, type Tenant, type TenantOptions } from '../../src/sandbox/tenant.ts';
import { operation, type OperationName } from '../../src/operations/table.ts';
import { findLeaks } from './secret-scan.ts';

export const CLIENT_ID = 'gateway-test-client';
export const CLIENT_SECRET = 'tenant-client-secret-DO-NOT-LOG-3f9a';
export const CAMPAIGN = '2c91808571bcfcf80171c23e4b4221fc';

export interface Harness {
  url: string;
  /** The admin listener, when ADMIN_PORT is set. */
  adminUrl: string | undefined;
  tenant: Tenant;
  issuer: DevIssuer;
  gateway: Gateway;
  /** Every log line so far, parsed. */
  logs(): Array<Record<string, unknown>>;
  /** Where a secret of this run was found where it must never be (close() fails on any). */
  leaks(): string[];
  rawLogs(): string;
  /** A valid caller token with the given claims (roles, scope, sub…). */
  token(claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  /** More environment that depends on where the tenant and issuer listen. */
  envFor?: (tenant: Tenant, issuer: DevIssuer) => Record<string, string>;
  tenant?: Partial<TenantOptions>;
  /** Skip gateway.warm(): the first call fetches keys and the credential itself. */
  cold?: boolean;
  /** Listen here rather than on any free port (when the URL must be known in advance, as PUBLIC_ORIGIN). */
  port?: number;
  /** Serve the example front-end at /app/, as sandbox mode does, suggesting the tenant's ids. */
  frontEnd?: boolean;
}

/** The environment that points a gateway at this tenant and issuer. */
export function targetEnv(tenant: Tenant, issuer: DevIssuer): Record<string, string> {
  return {
    UPSTREAM_BASE_URL: tenant.origin,
    UPSTREAM_CLIENT_ID: CLIENT_ID,
    UPSTREAM_CLIENT_SECRET: CLIENT_SECRET,
    AUTH_JWKS_URL: issuer.jwksUrl,
    AUTH_ISSUER: issuer.issuer,
    AUTH_AUDIENCE: issuer.audience,
  };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const tenant = await startTenant({
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    campaigns: [CAMPAIGN],
    rateLimit: null,
    ...options.tenant,
  });
  const issuer = await startDevIssuer();
  const parsed = parseConfig({ ...targetEnv(tenant, issuer), LOG_LEVEL: 'debug', ...options.env, ...options.envFor?.(tenant, issuer) });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('; '));
  const { config } = parsed;
  assert.ok(config.targets);

  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.length > 0));
      callback();
    },
  });
  const logger = createLogger(config.logLevel, sink);
  const frontEnd = options.frontEnd ? frontEndRoutes({ campaigns: options.tenant?.campaigns ?? [CAMPAIGN], sources: Object.keys(options.tenant?.sources ?? {}) }) : undefined;
  const gateway = createGateway(config, config.targets, logger, { frontEnd });
  if (!options.cold) await gateway.warm();
  const answers: string[] = [];
  // As src/main.ts builds it: requests and responses born with the app's prototypes.
  const prototypes = expressPrototypes();
  prototypes.adopt(gateway.app.express);
  const server: Server = createHttpServer(recordingAnswers(gateway.app.listener, answers), config.server, () => gateway.metrics.connectionsRefused.inc(), prototypes);
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const admin = gateway.adminApp && createHttpServer(gateway.adminApp, config.server);
  admin?.listen(0, '127.0.0.1');
  if (admin) await once(admin, 'listening');

  // Every secret this run has seen, against everywhere it must never be.
  const leaks = () =>
    findLeaks(
      {
        named: [
          { what: 'the client secret', value: CLIENT_SECRET },
          ...tenant.issuedTokens.map((value) => ({ what: 'an upstream token', value })),
          ...list(options.env?.SESSION_SECRETS ?? '').map((value) => ({ what: 'a session secret', value })),
          ...(options.env?.OIDC_CLIENT_SECRET ? [{ what: 'the OIDC client secret', value: options.env.OIDC_CLIENT_SECRET }] : []),
        ],
        signatures: { what: 'a caller token', values: new Set(issuer.mintedSignatures) },
      },
      [
        { where: 'the logs and audit records', text: lines.join('\n') },
        { where: 'an answer to a caller', text: answers.join('\n') },
        { where: 'a request to SailPoint', text: tenant.requests.map((r) => `${r.path} ${JSON.stringify(r.headers)}`).join('\n') },
      ],
    ).filter((leak) => !(leak.startsWith('an upstream token') && leak.endsWith('a request to SailPoint')));

  return {
    url: `http://127.0.0.1:${port}`,
    adminUrl: admin && `http://127.0.0.1:${(admin.address() as AddressInfo).port}`,
    tenant,
    issuer,
    gateway,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    leaks,
    rawLogs: () => lines.join('\n'),
    token: (claims = {}) => issuer.mint(claims),
    async close() {
      server.closeAllConnections();
      server.close();
      admin?.closeAllConnections();
      admin?.close();
      await gateway.close();
      await Promise.all([tenant.close(), issuer.close()]);
      const found = leaks();
      assert.deepEqual(found, [], 'no secret reaches a log, an audit record, a caller or SailPoint where it does not belong');
    },
  };
}

const list = (raw: string) => raw.split(',').map((s) => s.trim()).filter(Boolean);

// What a caller received, head and the start of the body (enough for every small answer; a long
// CSV is not kept whole), so the secret scan can read it.
const ANSWER_BYTES_KEPT = 64 * 1024;
function recordingAnswers(app: RequestListener, answers: string[]): RequestListener {
  return (req, res) => {
    const kept: Buffer[] = [];
    let size = 0;
    const keep = (chunk: unknown) => {
      if (size >= ANSWER_BYTES_KEPT || (typeof chunk !== 'string' && !Buffer.isBuffer(chunk))) return;
      const bytes = Buffer.from(chunk as string | Buffer);
      kept.push(bytes.subarray(0, ANSWER_BYTES_KEPT - size));
      size += bytes.length;
    };
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.write = ((chunk: unknown, ...rest: unknown[]) => {
      keep(chunk);
      return write(chunk, ...rest);
    }) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      keep(chunk);
      return end(chunk, ...rest);
    }) as typeof res.end;
    res.once('close', () => answers.push(`${res.statusCode} ${JSON.stringify(res.getHeaders())}\n${Buffer.concat(kept).toString('latin1')}`));
    app(req, res);
  };
}

/** Waits until check() holds, polling; fails with `what` after timeoutMs. Never asserts a duration. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// Paths from the operation table (as given: a test may pass an id that needs no encoding or must not get any).
const rawPath = (name: OperationName, values: Record<string, string>) => operation(name).path.replace(/\{(\w+)\}/g, (_, key: string) => values[key] ?? '');
export const runReportPath = (id = CAMPAIGN, type = 'CAMPAIGN_STATUS_REPORT') => rawPath('startCampaignReport', { id, type });
export const exportPath = (id: string) => rawPath('exportNonEmployeeRecords', { id });
export const campaignReportsPath = (id = CAMPAIGN) => rawPath('getCampaignReports', { id });
export const reportFilePath = (taskResultId: string, query = 'fileFormat=csv') => `${rawPath('getReport', { taskResultId })}?${query}`;
