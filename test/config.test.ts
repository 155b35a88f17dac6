import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { formatProblems, parseConfig, type Env } from '../src/config.ts';

const VALID: Env = {
  UPSTREAM_BASE_URL: 'https://acme.api.identitynow.com',
  UPSTREAM_CLIENT_ID: 'id',
  UPSTREAM_CLIENT_SECRET: 'secret',
  AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
  AUTH_ISSUER: 'https://idp.example.com/',
  AUTH_AUDIENCE: 'sailpoint-gateway',
};

function problemsOf(env: Env): string[] {
  const result = parseConfig(env);
  return result.ok ? [] : result.problems;
}

describe('configuration', () => {
  it('parses a complete environment with the documented defaults', () => {
    const result = parseConfig(VALID);
    assert.ok(result.ok);
    const { config } = result;
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.upstream.rateLimit, 100);
    assert.equal(config.upstream.rateWindowMs, 10_000);
    assert.equal(config.targets?.tenant.tokenUrl.href, 'https://acme.api.identitynow.com/oauth/token');
    assert.deepEqual(config.access.startCampaignReport.map((g) => `${g.kind}:${g.name}`), ['role:CERT_ADMIN', 'role:DASHBOARD', 'role:ORG_ADMIN', 'role:REPORT_ADMIN']);
    assert.deepEqual(config.access.exportNonEmployeeRecords, [{ kind: 'scope', name: 'idn:nesr:read' }]);
    assert.deepEqual(config.auth.grantClaims, { role: ['roles', 'authorities'], scope: ['scope', 'scp', 'permissions'] });
    assert.equal(config.auth.clockToleranceS, 30);
    assert.ok(!config.auth.algorithms.includes('none'));
  });

  it('When an access list entry is not role:NAME or scope:NAME, then start-up fails naming the fix', () => {
    const result = parseConfig({ ACCESS_RUN_REPORT: 'role:CERT_ADMIN,CERT_ADMIN', ACCESS_EXPORT_NON_EMPLOYEES: 'group:x' });
    assert.equal(result.ok, false);
    const text = result.ok ? '' : result.problems.join('; ');
    assert.match(text, /ACCESS_RUN_REPORT entry "CERT_ADMIN" must be role:NAME or scope:NAME \(for example role:CERT_ADMIN or scope:CERT_ADMIN\)/);
    assert.match(text, /ACCESS_EXPORT_NON_EMPLOYEES entry "group:x" must be role:NAME or scope:NAME/);
  });

  it('When AUTH_GRANT_CLAIMS is set, then start-up fails with one line saying what replaces it', () => {
    const result = parseConfig({ AUTH_GRANT_CLAIMS: 'roles,scope' });
    assert.equal(result.ok, false);
    assert.match(result.ok ? '' : formatProblems(result.problems), /^gateway: invalid configuration: AUTH_GRANT_CLAIMS is no longer read: .*AUTH_ROLE_CLAIMS.*AUTH_SCOPE_CLAIMS.*role:NAME \/ scope:NAME$/);
  });

  it('When an access list is set empty, then it parses as empty (the operation is not served)', () => {
    const result = parseConfig({ ACCESS_EXPORT_NON_EMPLOYEES: '' });
    assert.ok(result.ok);
    assert.deepEqual(result.config.access.exportNonEmployeeRecords, []);
    assert.equal(result.config.access.startCampaignReport.length, 4);
  });

  it('Browser sessions: with OIDC_ISSUER the rest is required, secrets must be 32 bytes, and PUBLIC_ORIGIN https outside loopback', () => {
    const missing = parseConfig({ OIDC_ISSUER: 'https://idp.example.com/' });
    assert.equal(missing.ok, false);
    const text = missing.ok ? '' : missing.problems.join('; ');
    for (const name of ['OIDC_CLIENT_ID', 'OIDC_CLIENT_SECRET', 'PUBLIC_ORIGIN', 'SESSION_SECRETS']) assert.match(text, new RegExp(`${name} is required when OIDC_ISSUER is set`));
    const weak = parseConfig({ OIDC_ISSUER: 'https://idp.example.com/', OIDC_CLIENT_ID: 'gw', OIDC_CLIENT_SECRET: 's', PUBLIC_ORIGIN: 'http://gw.example.com', SESSION_SECRETS: 'short' });
    const weakText = weak.ok ? '' : weak.problems.join('; ');
    assert.match(weakText, /SESSION_SECRETS entries must be at least 32 bytes each \(1 too short\)/);
    assert.match(weakText, /PUBLIC_ORIGIN must be an https:\/\/ URL/);
    const good = parseConfig({ OIDC_ISSUER: 'http://127.0.0.1:9999', OIDC_CLIENT_ID: 'gw', OIDC_CLIENT_SECRET: 's', PUBLIC_ORIGIN: 'http://127.0.0.1:8080', SESSION_SECRETS: `${'a'.repeat(32)},${'b'.repeat(40)}` });
    assert.ok(good.ok);
    assert.deepEqual(good.config.sessions?.secrets.length, 2);
    assert.equal(good.config.sessions?.idleTimeoutS, 1800);
    const none = parseConfig({});
    assert.ok(none.ok && none.config.sessions === undefined, 'session mode is off without OIDC_ISSUER');
  });

  it('is sandbox mode without UPSTREAM_BASE_URL outside production, and an error in production', () => {
    const sandbox = parseConfig({});
    assert.ok(sandbox.ok && sandbox.config.targets === null);
    assert.match(problemsOf({ NODE_ENV: 'production' }).join(), /UPSTREAM_BASE_URL is required when NODE_ENV=production/);
  });

  it('names every missing variable at once', () => {
    const problems = problemsOf({ UPSTREAM_BASE_URL: 'https://acme.api.identitynow.com' });
    for (const name of ['UPSTREAM_CLIENT_ID', 'UPSTREAM_CLIENT_SECRET', 'AUTH_JWKS_URL or AUTH_PUBLIC_KEY', 'AUTH_ISSUER', 'AUTH_AUDIENCE']) {
      assert.ok(problems.some((p) => p.startsWith(name)), `${name} not named in ${problems.join(' | ')}`);
    }
  });

  it('rejects plain http except on loopback, and URLs with credentials', () => {
    assert.match(problemsOf({ ...VALID, UPSTREAM_BASE_URL: 'http://acme.api.identitynow.com' }).join(), /UPSTREAM_BASE_URL must be an https/);
    assert.match(problemsOf({ ...VALID, AUTH_JWKS_URL: 'http://10.0.0.1/jwks' }).join(), /AUTH_JWKS_URL must be an https/);
    assert.match(problemsOf({ ...VALID, UPSTREAM_TOKEN_URL: 'https://u:p@acme.example/oauth/token' }).join(), /must not carry credentials/);
    assert.match(problemsOf({ ...VALID, UPSTREAM_BASE_URL: 'not a url' }).join(), /not a valid URL/);
    assert.match(problemsOf({ ...VALID, UPSTREAM_BASE_URL: 'https://acme.api.identitynow.com/v3' }).join(), /origin only/);
    for (const host of ['127.0.0.1:8081', '[::1]:8081', 'localhost:8081']) {
      assert.ok(parseConfig({ ...VALID, UPSTREAM_BASE_URL: `http://${host}` }).ok, host);
    }
  });

  it('rejects numbers out of range or not whole, naming the variable and the value', () => {
    const problems = problemsOf({ ...VALID, PORT: '70000', UPSTREAM_RATE_LIMIT: 'lots', UPSTREAM_RETRIES: '1.5', UPSTREAM_TIMEOUT_MS: '-1' });
    assert.ok(problems.some((p) => p === 'PORT must be a whole number from 0 to 65535 (got "70000")'));
    assert.ok(problems.some((p) => p.startsWith('UPSTREAM_RATE_LIMIT') && p.includes('"lots"')));
    assert.ok(problems.some((p) => p.startsWith('UPSTREAM_RETRIES')));
    assert.ok(problems.some((p) => p.startsWith('UPSTREAM_TIMEOUT_MS')));
  });

  it('accepts only asymmetric algorithms: never none, never HMAC', () => {
    assert.match(problemsOf({ ...VALID, AUTH_ALGORITHMS: 'RS256,none' }).join(), /not none/);
    assert.match(problemsOf({ ...VALID, AUTH_ALGORITHMS: 'HS256' }).join(), /not HS256/);
    assert.ok(parseConfig({ ...VALID, AUTH_ALGORITHMS: 'ES256,EdDSA' }).ok);
  });

  it('accepts a PEM or JWK public key and refuses secrets or private keys posing as one', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const jwk = JSON.stringify(publicKey.export({ format: 'jwk' }));
    const noJwks = { ...VALID, AUTH_JWKS_URL: undefined };
    assert.ok(parseConfig({ ...noJwks, AUTH_PUBLIC_KEY: pem }).ok);
    assert.ok(parseConfig({ ...noJwks, AUTH_PUBLIC_KEY: pem.replaceAll('\n', '\\n') }).ok, 'escaped newlines, as in .env files');
    assert.ok(parseConfig({ ...noJwks, AUTH_PUBLIC_KEY: jwk }).ok);
    assert.match(problemsOf({ ...noJwks, AUTH_PUBLIC_KEY: JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' }) }).join(), /AUTH_PUBLIC_KEY/);
    assert.match(problemsOf({ ...noJwks, AUTH_PUBLIC_KEY: 'hunter2' }).join(), /AUTH_PUBLIC_KEY is not a PEM/);
    const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.ok(parseConfig({ ...noJwks, AUTH_PUBLIC_KEY: privatePem }).ok, 'a private key yields its public half');
    assert.match(problemsOf({ ...VALID, AUTH_PUBLIC_KEY: pem }).join(), /exclusive/);
  });

  it('checks LOG_LEVEL, CORS_ORIGINS and REDIS_URL', () => {
    const problems = problemsOf({ ...VALID, LOG_LEVEL: 'loud', CORS_ORIGINS: 'https://ok.example,ftp://bad/', REDIS_URL: 'localhost:6379' });
    assert.ok(problems.some((p) => p.startsWith('LOG_LEVEL')));
    assert.ok(problems.some((p) => p.startsWith('CORS_ORIGINS') && p.includes('ftp://bad/')));
    assert.ok(problems.some((p) => p.startsWith('REDIS_URL')));
  });

  it('When the process starts with bad configuration, then it prints one line naming each problem and exits 1, no stack trace', () => {
    const result = spawnSync(process.execPath, ['src/main.ts'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', UPSTREAM_RATE_LIMIT: 'zero', AUTH_ISSUER: 'x' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] as string, /^gateway: invalid configuration: /);
    assert.match(lines[0] as string, /UPSTREAM_RATE_LIMIT/);
    assert.match(lines[0] as string, /UPSTREAM_BASE_URL is required/);
    assert.doesNotMatch(result.stderr, /\n\s+at /);
    assert.equal(result.stdout, '');
  });
});
