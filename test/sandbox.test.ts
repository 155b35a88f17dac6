import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess, startProcessSetup, type GatewayProcess } from './support/gateway-process.ts';
import { cookieBrowser } from './support/cookie-browser.ts';
import { eventually } from './support/harness.ts';
import { API_ANSWER_SET, DOCUMENT_ONLY_SET, securityHeadersOf } from './support/security-headers.ts';

describe('sandbox mode (npm start with no configuration)', () => {
  let gateway: GatewayProcess;
  const tokens = new Map<string, string>();
  let tenantOrigin = '';

  before(async () => {
    gateway = await startGatewayProcess({});
    await eventually(() => gateway.stdout().includes('Try:'), 'sandbox banner printed');
    for (const match of gateway.stdout().matchAll(/^ {2}([a-z-]+) +grants: .*? (eyJ[\w.-]+)$/gm)) {
      tokens.set(match[1] as string, match[2] as string);
    }
    tenantOrigin = /Simulated tenant: +(http:\/\/127\.0\.0\.1:\d+)/.exec(gateway.stdout())?.[1] ?? '';
  });
  after(() => gateway.stop());

  it('says loudly that it is a sandbox and prints a token per persona', () => {
    assert.match(gateway.stdout(), /SANDBOX MODE/);
    assert.deepEqual([...tokens.keys()].sort(), ['cert-admin', 'nesr-reader', 'no-grants', 'report-admin']);
    assert.match(gateway.stdout(), /curl -i -X POST -H "Authorization: Bearer eyJ/);
    // Its provider signs with keys of its own, not oidc-provider's published quick-start keys.
    assert.doesNotMatch(gateway.stdout() + gateway.stderr(), /WARNING|development-only/);
  });

  it('the printed tokens work against the simulated tenant, as the curl lines show', async () => {
    const gatewayUrl = /Gateway: +(http:\/\/127\.0\.0\.1:\d+)/.exec(gateway.stdout())?.[1];
    assert.equal(gatewayUrl, gateway.url);
    const report = await fetch(`${gateway.url}/v3/campaigns/2c91808571bcfcf80171c23e4b4221fc/run-report/CAMPAIGN_STATUS_REPORT`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.get('cert-admin')}` },
    });
    assert.equal(report.status, 202);
    const refused = await fetch(`${gateway.url}/v3/campaigns/2c91808571bcfcf80171c23e4b4221fc/run-report/CAMPAIGN_STATUS_REPORT`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.get('no-grants')}` },
    });
    assert.equal(refused.status, 403);
    const csv = await fetch(`${gateway.url}/v3/non-employee-sources/contractors-20k/non-employees/download`, {
      headers: { authorization: `Bearer ${tokens.get('nesr-reader')}` },
    });
    assert.equal(csv.status, 200);
    const lines = (await csv.text()).trimEnd().split('\n');
    assert.equal(lines.length, 20_001);
    assert.equal(lines[0], 'accountName,firstName,lastName,phone,email,manager,startDate,endDate');
  });

  it('the simulated tenant takes fault switches over HTTP, and the gateway rides over a 503', async () => {
    const queued = await fetch(`${tenantOrigin}/__sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'runReport', fault: { kind: 'status', status: 503 }, times: 1 }),
    });
    assert.equal(queued.status, 200);
    const report = await fetch(`${gateway.url}/v3/campaigns/campaign-q4-access-review/run-report/CERTIFICATION_SIGNOFF_REPORT`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.get('report-admin')}` },
    });
    assert.equal(report.status, 202);
  });

  it('runs session mode against its own OpenID Connect provider: the printed login URL leads to the persona picker and a session', async () => {
    const loginUrl = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/bff\/login\?returnTo=\/app\/)$/m.exec(gateway.stdout())?.[1];
    assert.ok(loginUrl, 'the banner prints where to log in');
    const browser = cookieBrowser();
    const picker = (await browser.follow(loginUrl)).at(-1);
    assert.equal(picker?.status, 200);
    for (const persona of ['cert-admin', 'report-admin', 'nesr-reader', 'no-grants']) assert.match(picker?.body ?? '', new RegExp(`value="${persona}"`));
    const action = /action="([^"]+)"/.exec(picker?.body ?? '')?.[1] as string;
    const hops = await browser.follow(new URL(action, picker?.url).href, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'persona=cert-admin' });
    assert.equal(hops.at(-1)?.status, 200, 'landed on returnTo');
    assert.match(hops.at(-1)?.body ?? '', /<title>SailPoint gateway — example front-end<\/title>/, 'the example front-end, served at /app/');
    // The page: helmet's full set for a document, with its own CSP in place of the API's.
    const { 'content-security-policy': pageCsp, ...pageHeaders } = securityHeadersOf((name) => hops.at(-1)?.headers.get(name));
    const documentSet: Record<string, string> = { ...API_ANSWER_SET, ...DOCUMENT_ONLY_SET };
    delete documentSet['content-security-policy'];
    assert.deepEqual(pageHeaders, documentSet);
    assert.match(pageCsp ?? '', /^default-src 'none'; script-src 'self';.*frame-ancestors 'none'$/);
    const user = await browser.request(`${gateway.url}/bff/user`, { headers: { 'x-csrf': '1' } });
    assert.equal(user.status, 200);
    assert.deepEqual((JSON.parse(user.body) as { roles: string[] }).roles, ['CERT_ADMIN']);
  });

  it('When it gets SIGTERM, then it exits 0', async () => {
    assert.equal(await gateway.stop(), 0);
    assert.match(gateway.stdout(), /"msg":"stopped"/);
  });

});

describe('a gateway with a tenant configured', () => {
  it('loads none of the sandbox: its simulated tenant and OpenID Connect provider stay out of the heap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loads-'));
    const file = join(dir, 'loaded.txt');
    try {
      const setup = await startProcessSetup({}, { RECORD_LOADS_TO: file }, { nodeArgs: ['--import', './test/support/record-loads.ts'] });
      await setup.close();
      const loaded = readFileSync(file, 'utf8').split('\n');
      assert.ok(loaded.some((url) => url.endsWith('/src/gateway.ts')), 'the recording saw the gateway load');
      assert.deepEqual(loaded.filter((url) => /\/src\/sandbox\/(start|tenant|oidc-provider)\.ts$|\/node_modules\/(oidc-provider|koa)\//.test(url)).slice(0, 3), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
