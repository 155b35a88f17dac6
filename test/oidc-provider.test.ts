import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { startOidcProvider, type OidcSandbox } from '../src/sandbox/oidc-provider.ts';
import { cookieBrowser } from './support/cookie-browser.ts';

const REDIRECT = 'http://127.0.0.1:9/callback';

describe("the sandbox's OpenID Connect provider (persona picker)", () => {
  let idp: OidcSandbox;
  before(async () => {
    idp = await startOidcProvider({
      personas: [{ id: 'cert-admin', name: 'Certification admin', roles: ['CERT_ADMIN'], permissions: [] }],
      clients: [{ client_id: 'gateway', client_secret: 'gateway-secret-0123456789abcdef0123', redirect_uris: [REDIRECT], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }],
      accessTokenTtlS: 60,
    });
  });
  after(() => idp.close());

  it('When a persona is picked, then the code flow with PKCE yields an ID token with its roles and a refresh token that works', async () => {
    const config = await oidc.discovery(new URL(idp.issuer), 'gateway', 'gateway-secret-0123456789abcdef0123', undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const authorize = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      prompt: 'consent',
    });
    const browser = cookieBrowser();
    const toPicker = await browser.follow(authorize.href);
    const picker = toPicker.at(-1);
    assert.equal(picker?.status, 200);
    assert.match(picker?.body ?? '', /Sandbox sign-in/);
    const action = /action="([^"]+)"/.exec(picker?.body ?? '')?.[1] as string;
    const back = await browser.follow(new URL(action, idp.issuer).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'persona=cert-admin',
    }, (url) => url.startsWith(REDIRECT));
    const callback = back.at(-1)?.location as string;
    assert.ok(callback.startsWith(REDIRECT), callback);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims();
    assert.equal(claims?.sub, 'cert-admin');
    assert.deepEqual(claims?.roles, ['CERT_ADMIN']);
    assert.ok(tokens.refresh_token, 'a refresh token');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
    assert.ok(refreshed.access_token);
    assert.equal(idp.logins, 1);
  });
});
