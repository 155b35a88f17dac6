import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfig, type Env } from '../src/config.ts';
import { envExample, withReadmeTable } from '../src/config/render.ts';
import { VARIABLES } from '../src/config/variables.ts';

/** An environment that notes every name the config asks for. */
function recording(values: Env): { env: Env; read: Set<string> } {
  const read = new Set<string>();
  const env = new Proxy(values, {
    get(target, name) {
      if (typeof name === 'string') read.add(name);
      return target[name as string];
    },
  });
  return { env, read };
}

describe('configuration declared once', () => {
  it('.env.example is what the declarations render (run `npm run config:docs` after changing one)', () => {
    assert.equal(readFileSync('.env.example', 'utf8'), envExample(VARIABLES));
  });

  it("the README's configuration table is what the declarations render", () => {
    const readme = readFileSync('README.md', 'utf8');
    assert.equal(readme, withReadmeTable(readme, VARIABLES));
  });

  it('every variable the config reads is declared, and every declared one is read', () => {
    const full = {
      UPSTREAM_BASE_URL: 'https://acme.api.identitynow.com', UPSTREAM_CLIENT_ID: 'id', UPSTREAM_CLIENT_SECRET: 'secret',
      AUTH_JWKS_URL: 'https://idp.example.com/jwks', AUTH_ISSUER: 'https://idp.example.com/', AUTH_AUDIENCE: 'gw', ADMIN_PORT: '9090',
      OIDC_ISSUER: 'https://idp.example.com/', OIDC_CLIENT_ID: 'gw', OIDC_CLIENT_SECRET: 's', OIDC_PROMPT: 'consent', PUBLIC_ORIGIN: 'https://gw.example.com', SESSION_SECRETS: 'x'.repeat(32),
    };
    const read = new Set<string>();
    const runs = [recording({}), recording(full)];
    for (const run of runs) {
      parseConfig(run.env);
      for (const name of run.read) read.add(name);
    }
    const declared = new Set(VARIABLES.map((v) => v.name));
    // Read only to be refused (what replaced it is named at start), and the lower-case proxy spellings.
    const undeclared = [...read].filter((name) => !declared.has(name) && !['AUTH_GRANT_CLAIMS', 'https_proxy', 'no_proxy'].includes(name));
    assert.deepEqual(undeclared, []);
    assert.deepEqual([...declared].filter((name) => !read.has(name)), []);
  });

  it('the config is frozen all the way down', () => {
    const parsed = parseConfig({});
    assert.ok(parsed.ok);
    assert.ok(Object.isFrozen(parsed.config) && Object.isFrozen(parsed.config.upstream) && Object.isFrozen(parsed.config.access.startCampaignReport));
    assert.throws(() => {
      (parsed.config.upstream as { rateLimit: number }).rateLimit = 1;
    }, TypeError);
  });
});
