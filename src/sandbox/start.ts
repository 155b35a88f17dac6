import { randomBytes } from 'node:crypto';
import type { Router } from 'express';
import type { SessionSettings, Targets } from '../config.ts';
import { operation, pathOf } from '../operations/table.ts';
import { bulkBlocksFor, realisticCsv } from './csv.ts';
import { startDevIssuer } from './issuer.ts';
import { startOidcProvider, type OidcPersona, type OidcSandbox } from './oidc-provider.ts';
import { startTenant, type Tenant } from './tenant.ts';
import { frontEndRoutes } from './front-end.ts';

export interface Persona {
  name: string;
  grants: string[];
  token: string;
}

export interface Sandbox {
  targets: Targets;
  tenant: Tenant;
  personas: Persona[];
  /** The example front-end at /app/, suggesting the simulated tenant's campaigns and sources. */
  frontEnd: Router;
  /** Starts the sandbox's OpenID Connect provider for a gateway at this origin: session mode's settings. */
  startSessions(gatewayOrigin: string): Promise<SessionSettings>;
  /** What `npm start` prints for a gateway at this address. */
  banner(gatewayUrl: string): string;
  close(): Promise<void>;
}

/** The same personas at the sandbox's OpenID Connect provider (session mode), by persona name. */
const OIDC_PERSONAS: readonly OidcPersona[] = [
  { id: 'cert-admin', name: 'Certification admin', roles: ['CERT_ADMIN'], permissions: [] },
  { id: 'report-admin', name: 'Report admin', roles: ['REPORT_ADMIN'], permissions: [] },
  { id: 'nesr-reader', name: 'Non-employee reader', roles: [], permissions: ['idn:nesr:read'] },
  { id: 'no-grants', name: 'No grants', roles: [], permissions: [] },
];

export const SANDBOX_CAMPAIGNS = ['2c91808571bcfcf80171c23e4b4221fc', 'campaign-q4-access-review'];
export const SANDBOX_SOURCES = { small: 'e136567de87e4d029e60b3c3c55db56d', large: 'contractors-20k', bulk: 'bulk-256mib' };

/** Starts the simulated tenant and the development issuer on loopback, and mints persona tokens. */
export async function startSandbox(): Promise<Sandbox> {
  const clientId = 'sandbox-client';
  const clientSecret = randomBytes(16).toString('hex');
  const tenant = await startTenant({
    clientId,
    clientSecret,
    campaigns: SANDBOX_CAMPAIGNS,
    sources: {
      [SANDBOX_SOURCES.small]: { kind: 'fixed', body: realisticCsv(3), contentLength: true },
      [SANDBOX_SOURCES.large]: { kind: 'fixed', body: realisticCsv(20_000), contentLength: false },
      [SANDBOX_SOURCES.bulk]: { kind: 'bulk', blocks: bulkBlocksFor(256 * 1024 * 1024), contentLength: true },
    },
  });
  const issuer = await startDevIssuer();
  const twelveHoursS = 12 * 3600;
  const mint = async (name: string, claims: Record<string, unknown>, grants: string[]): Promise<Persona> => ({
    name,
    grants,
    token: await issuer.mint({ sub: name, ...claims }, { expiresInS: twelveHoursS }),
  });
  const personas = await Promise.all([
    mint('cert-admin', { roles: ['CERT_ADMIN'] }, ['CERT_ADMIN']),
    mint('report-admin', { roles: ['REPORT_ADMIN'] }, ['REPORT_ADMIN']),
    mint('nesr-reader', { scope: 'openid idn:nesr:read' }, ['idn:nesr:read']),
    mint('no-grants', {}, []),
  ]);
  let idp: OidcSandbox | undefined;
  const sandbox: Sandbox = {
    tenant,
    personas,
    frontEnd: frontEndRoutes({ campaigns: SANDBOX_CAMPAIGNS, sources: Object.values(SANDBOX_SOURCES) }),
    async startSessions(gatewayOrigin) {
      const clientSecret = randomBytes(24).toString('hex');
      idp = await startOidcProvider({
        personas: OIDC_PERSONAS,
        clients: [
          {
            client_id: 'sandbox-gateway',
            client_secret: clientSecret,
            redirect_uris: [`${gatewayOrigin}/bff/callback`],
            post_logout_redirect_uris: [`${gatewayOrigin}/`],
            backchannel_logout_uri: `${gatewayOrigin}/bff/backchannel-logout`,
            backchannel_logout_session_required: true,
            grant_types: ['authorization_code', 'refresh_token'],
            response_types: ['code'],
          },
        ],
      });
      return {
        issuer: new URL(idp.issuer),
        clientId: 'sandbox-gateway',
        clientSecret,
        scopes: 'openid profile offline_access',
        prompt: 'consent',
        publicOrigin: new URL(gatewayOrigin),
        secrets: [randomBytes(32).toString('base64url')],
        idleTimeoutS: 1800,
        maxAgeS: 28_800,
      };
    },
    targets: {
      tenant: { baseUrl: new URL(tenant.origin), tokenUrl: new URL(tenant.tokenUrl), clientId, clientSecret },
      callers: { keys: { kind: 'jwks', url: new URL(issuer.jwksUrl) }, issuer: issuer.issuer, audience: [issuer.audience] },
    },
    banner: (gatewayUrl) => sandboxBanner(sandbox, gatewayUrl),
    async close() {
      await Promise.all([tenant.close(), issuer.close(), idp?.close()]);
    },
  };
  return sandbox;
}

/** What `npm start` prints in sandbox mode: loud, with tokens and curl lines that work as printed. */
const startReport = pathOf(operation('startCampaignReport'), { id: SANDBOX_CAMPAIGNS[0] as string, type: 'CAMPAIGN_STATUS_REPORT' });
const listReports = pathOf(operation('getCampaignReports'), { id: SANDBOX_CAMPAIGNS[0] as string });

function sandboxBanner(sandbox: Sandbox, gatewayUrl: string): string {
  const token = (name: string) => sandbox.personas.find((p) => p.name === name)?.token ?? '';
  const lines = [
    '',
    '================================================================================',
    '  SANDBOX MODE — simulated IdentityNow tenant and development token issuer.',
    '  Nothing here talks to SailPoint. Set UPSTREAM_BASE_URL (see .env.example) for',
    '  a real tenant; NODE_ENV=production refuses to start without one.',
    '================================================================================',
    '',
    `Gateway:           ${gatewayUrl}`,
    `Simulated tenant:  ${sandbox.tenant.origin}  (faults: POST ${sandbox.tenant.origin}/__sandbox/faults)`,
    '',
    'Example front-end (session mode: log in as a persona on the provider\'s page, the gateway keeps the tokens):',
    `  ${gatewayUrl}/app/`,
    'or log in directly:',
    `  ${gatewayUrl}/bff/login?returnTo=/app/`,
    `  then, in that tab's console: await (await fetch('/bff/user', { headers: { 'X-CSRF': '1' } })).json()`,
    '',
    'Persona tokens (valid 12 h):',
    ...sandbox.personas.map((p) => `  ${p.name.padEnd(13)} grants: ${(p.grants.join(' ') || '(none)').padEnd(14)} ${p.token}`),
    '',
    'Try:',
    `  curl -i -X POST -H "Authorization: Bearer ${token('cert-admin')}" \\`,
    `       ${gatewayUrl}${startReport}`,
    `  curl -sS -H "Authorization: Bearer ${token('cert-admin')}" \\`,
    `       ${gatewayUrl}${listReports}   # the report: PENDING, then SUCCESS; its "id" names the file`,
    `  curl -sS -OJ -H "Authorization: Bearer ${token('cert-admin')}" \\`,
    `       "${gatewayUrl}${pathOf(operation('getReport'), { taskResultId: '<id>' })}?fileFormat=pdf"`,
    `  curl -i -H "Authorization: Bearer ${token('nesr-reader')}" \\`,
    `       ${gatewayUrl}${pathOf(operation('exportNonEmployeeRecords'), { id: SANDBOX_SOURCES.small })}`,
    `  curl -sS -o contractors.csv -H "Authorization: Bearer ${token('nesr-reader')}" \\`,
    `       ${gatewayUrl}${pathOf(operation('exportNonEmployeeRecords'), { id: SANDBOX_SOURCES.large })}`,
    `  curl -i -X POST -H "Authorization: Bearer ${token('no-grants')}" \\`,
    `       ${gatewayUrl}${startReport}   # 403`,
    `  curl -i -X POST -H 'content-type: application/json' -d '{"operation":"runReport","fault":{"kind":"status","status":503},"times":1}' \\`,
    `       ${sandbox.tenant.origin}/__sandbox/faults   # next run-report sees one 503 (the gateway retries)`,
    '',
  ];
  return lines.join('\n');
}
