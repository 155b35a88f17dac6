// A gateway in session mode in front of the sandbox's OpenID Connect provider, and a browser's
// way through the provider's persona picker: what the browser-session tests share.
import type { ClientMetadata } from 'oidc-provider';
import { startOidcProvider, type OidcPersona, type OidcSandbox } from '../../src/sandbox/oidc-provider.ts';
import type { CookieBrowser, Hop } from './cookie-browser.ts';
import { freePort } from './free-port.ts';
import { startHarness, type Harness, type HarnessOptions } from './harness.ts';

export const SESSION_SECRET = 'session-secret-DO-NOT-LOG-0123456789abcdef';
export const OIDC_CLIENT_SECRET = 'oidc-client-secret-DO-NOT-LOG-0123456789';

export const PERSONAS: readonly OidcPersona[] = [
  { id: 'cert-admin', name: 'Certification admin', roles: ['CERT_ADMIN'], permissions: [] },
  { id: 'nesr-reader', name: 'Non-employee reader', roles: [], permissions: ['idn:nesr:read'] },
];

/** The provider's registration of a gateway at this origin. */
export const gatewayClient = (origin: string, extra: Partial<ClientMetadata> = {}): ClientMetadata => ({
  client_id: 'gateway',
  client_secret: OIDC_CLIENT_SECRET,
  redirect_uris: [`${origin}/bff/callback`],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  ...extra,
});

/** What a gateway at `origin` needs to run session mode against `idp`. */
export const sessionEnv = (idp: OidcSandbox, origin: string): Record<string, string> => ({
  OIDC_ISSUER: idp.issuer,
  OIDC_CLIENT_ID: 'gateway',
  OIDC_CLIENT_SECRET,
  PUBLIC_ORIGIN: origin,
  // The provider is node oidc-provider, which grants offline_access (a refresh token) only with it.
  OIDC_PROMPT: 'consent',
  SESSION_SECRETS: SESSION_SECRET,
});

/** Sleeps past 80 % of a 2 s access token's lifetime, when the next request renews it. */
export const pastRenewal = () => new Promise((resolve) => setTimeout(resolve, 1700));

export interface SessionRig {
  idp: OidcSandbox;
  h: Harness;
  close(): Promise<void>;
}

export interface SessionRigOptions {
  accessTokenTtlS?: number;
  client?: (origin: string) => Partial<ClientMetadata>;
  env?: Record<string, string>;
  /** The rest of the harness (the tenant, the front-end). */
  harness?: Omit<HarnessOptions, 'env' | 'port'>;
  personas?: readonly OidcPersona[];
}

export async function startSessionRig(options: SessionRigOptions = {}): Promise<SessionRig> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const idp = await startOidcProvider({
    personas: options.personas ?? PERSONAS,
    clients: [gatewayClient(origin, options.client?.(origin))],
    ...(options.accessTokenTtlS === undefined ? {} : { accessTokenTtlS: options.accessTokenTtlS }),
  });
  const h = await startHarness({ ...options.harness, port, env: { ...sessionEnv(idp, origin), ...options.env } });
  return {
    idp,
    h,
    async close() {
      await h.close();
      await idp.close();
    },
  };
}

/**
 * Logs in as a persona: from the gateway's login URL to the picker, the pick, and back through the
 * callback, stopping when the browser is sent to `landAt`. Returns every hop after the pick.
 */
export async function loginAs(browser: CookieBrowser, loginUrl: string, idp: OidcSandbox, persona: string, landAt: string): Promise<Hop[]> {
  const picker = (await browser.follow(loginUrl)).at(-1);
  if (picker?.status !== 200) throw new Error(`no persona picker at the end of ${loginUrl}`);
  const action = /action="([^"]+)"/.exec(picker.body)?.[1] ?? '';
  return browser.follow(new URL(action, idp.issuer).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `persona=${persona}` }, (url) => url === landAt);
}
