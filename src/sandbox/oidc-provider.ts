// The sandbox's identity provider for browser sessions: a real OpenID Connect provider
// (oidc-provider), in process on loopback, whose login page is a persona picker. Authorization
// code with PKCE, refresh tokens, an end-session endpoint and back-channel logout, as a real
// provider would offer the gateway. Personas carry their roles and scopes as ID-token claims.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type ClientMetadata } from 'oidc-provider';
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';
import { readForm } from '../http/read-form.ts';

export interface OidcPersona {
  /** The account id and `sub`. */
  id: string;
  name: string;
  roles: string[];
  permissions: string[];
}

export interface OidcSandbox {
  issuer: string;
  provider: Provider;
  /** Logins finished through the persona picker. */
  logins: number;
  /** Refresh-token grants answered. */
  refreshes: number;
  /** Withdraws every grant given so far, as an administrator revoking access would: refreshes are refused from then on. */
  revokeGrants(): Promise<void>;
  close(): Promise<void>;
}

export interface OidcSandboxOptions {
  personas: readonly OidcPersona[];
  clients: ClientMetadata[];
  /** Access token lifetime: short in tests, so refresh can be seen. */
  accessTokenTtlS?: number;
  port?: number;
}

const PAGE_STYLE = '<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}li{list-style:none;margin:.5rem 0}button{min-width:12rem;padding:.5rem 1rem;margin-right:1rem;font:inherit}span{color:#555}</style>';

/** The end-session page: oidc-provider's form (its hidden fields), and the two answers to it. */
function logoutPage(form: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox sign-out</title>${PAGE_STYLE}</head>
<body><main><h1>Sandbox sign-out</h1><p>Sign out of the sandbox's identity provider too?</p>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></main></body></html>`;
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function pickerPage(uid: string, personas: readonly OidcPersona[], client: string): string {
  const buttons = personas
    .map(
      (p) =>
        `<li><button type="submit" name="persona" value="${escapeHtml(p.id)}">${escapeHtml(p.name)}</button>` +
        `<span>${escapeHtml([...p.roles.map((r) => `role ${r}`), ...p.permissions.map((s) => `scope ${s}`)].join(', ') || 'no grants')}</span></li>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox sign-in</title>
${PAGE_STYLE}
</head><body><main><h1>Sandbox sign-in</h1><p>Signing in to <strong>${escapeHtml(client)}</strong>. This is a development identity provider: pick a persona.</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/login"><ul>${buttons}</ul></form></main></body></html>`;
}

export async function startOidcProvider(options: OidcSandboxOptions): Promise<OidcSandbox> {
  const sockets = new Set<Socket>();
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => handler(req, res));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const personas = new Map(options.personas.map((p) => [p.id, p]));
  const grantIds: string[] = [];

  // Keys of its own per start: oidc-provider's quick-start keys are public, so anyone could sign
  // ID tokens with them. Storage of its own too (in memory: a sandbox forgets at exit, by design).
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    clients: options.clients,
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: randomBytes(8).toString('hex') }] },
    adapter: createMemoryAdapter(),
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], profile: ['name', 'roles', 'permissions'] },
    conformIdTokenClaims: false,
    scopes: ['openid', 'profile', 'offline_access'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.body = logoutPage(form);
        },
      },
    },
    ttl: { AccessToken: options.accessTokenTtlS ?? 600, IdToken: 3600, RefreshToken: 86_400, Session: 86_400, Grant: 86_400, Interaction: 600 },
    // offline_access is granted on the persona picker's consent, so refresh tokens are issued.
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    // oidc-provider refuses to call loopback addresses (SSRF protection), and this development
    // provider's one client, the gateway, is on loopback: its back-channel logout goes without it.
    fetch: (url, options) => fetch(url, { ...options, dispatcher: undefined } as RequestInit),
    findAccount: (_ctx, id) => {
      const persona = personas.get(id);
      if (!persona) return undefined;
      return { accountId: id, claims: () => ({ sub: id, name: persona.name, roles: persona.roles, permissions: persona.permissions }) };
    },
  });
  // Loopback over plain http: the provider must not insist on https cookies and redirects.
  provider.proxy = false;

  const sandbox: OidcSandbox = {
    issuer,
    provider,
    logins: 0,
    refreshes: 0,
    async revokeGrants() {
      for (const id of grantIds.splice(0)) await (await provider.Grant.find(id))?.destroy();
    },
    async close() {
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close');
    },
  };

  provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') sandbox.refreshes += 1;
  });
  const oidc = provider.callback();
  handler = (req, res) => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec((req.url ?? '').split('?')[0] as string);
    if (!match) {
      void oidc(req, res);
      return;
    }
    void (async () => {
      try {
        const details = await provider.interactionDetails(req, res);
        if (req.method === 'GET' && !match[2]) {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
          res.end(pickerPage(details.uid, options.personas, String(details.params.client_id)));
          return;
        }
        const persona = personas.get((await readForm(req, 4096)).get('persona') ?? '');
        if (req.method !== 'POST' || !persona) {
          res.writeHead(400, { 'content-type': 'text/plain' }).end('pick a persona');
          return;
        }
        const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: persona.id, clientId: String(details.params.client_id) });
        if (!grant) throw new Error('grant not found');
        const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
        // The picker is login and consent at once: grant every scope the client asked for.
        grant.addOIDCScope([String(details.params.scope ?? ''), ...(missing.missingOIDCScope ?? [])].join(' '));
        grant.addOIDCClaims(missing.missingOIDCClaims ?? []);
        const grantId = await grant.save();
        grantIds.push(grantId);
        sandbox.logins += 1;
        await provider.interactionFinished(req, res, { login: { accountId: persona.id }, consent: { grantId } }, { mergeWithLastSubmission: false });
      } catch (error) {
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' }).end(`sign-in failed: ${(error as Error).message}`);
      }
    })();
  };
  return sandbox;
}
