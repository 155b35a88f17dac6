// The README's "Calling the gateway from a front-end" snippets, run as printed (only the port and
// the token differ): two in Chromium, on the gateway's origin and on another; the SDK's in Node.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { realisticCsv } from '../src/sandbox/csv.ts';
import { SANDBOX_SOURCES } from '../src/sandbox/start.ts';
import { inFreshPage, launchChromium, logInThroughApp, staticFrontEnd } from './support/chromium.ts';
import { PERSONAS, startSessionRig, type SessionRig } from './support/session-rig.ts';

const SANDBOX_URL = 'http://127.0.0.1:8080';

async function snippets(): Promise<Map<string, string>> {
  const readme = await readFile('README.md', 'utf8');
  return new Map([...readme.matchAll(/<!-- snippet:(\w+) -->\n```js\n([\s\S]*?)\n```/g)].map(([, name, code]) => [name as string, code as string]));
}

/** The snippet run in the page; resolves to what it logged. */
const inPage = (code: string) => `(async () => { const logged = []; const console = { log: (...args) => logged.push(args) }; ${code}\n return logged; })()`;

describe('the README’s front-end snippets, as printed', () => {
  let browser: Browser;
  let rig: SessionRig;
  let code: Map<string, string>;
  let otherOrigin: string;
  let closeOther: () => Promise<void>;
  before(async () => {
    code = await snippets();
    browser = await launchChromium();
    const other = await staticFrontEnd();
    otherOrigin = other.origin;
    closeOther = other.close;
    rig = await startSessionRig({
      env: { CORS_ORIGINS: otherOrigin },
      harness: { frontEnd: true, tenant: { sources: { [SANDBOX_SOURCES.large]: { kind: 'fixed', body: realisticCsv(20_000), contentLength: false } } } },
    });
  });
  after(async () => {
    await browser?.close();
    await rig?.close();
    await closeOther?.();
  });

  it('has the three snippets', () => {
    assert.deepEqual([...code.keys()].sort(), ['bearer', 'sdk', 'session']);
  });

  it('fetch with the session cookie, in the console of /app/ once logged in', async () => {
    await inFreshPage(browser, async (page) => {
      await logInThroughApp(page, rig.h.url, PERSONAS[0]?.name ?? '');
      const logged = (await page.evaluate(inPage(code.get('session') ?? ''))) as unknown[][];
      assert.deepEqual(logged, [[['CERT_ADMIN'], 202, ['CAMPAIGN_STATUS_REPORT PENDING']]]);
    });
  });

  it('fetch with a bearer token, from a page on another origin in CORS_ORIGINS', async () => {
    await inFreshPage(browser, async (page) => {
      await page.goto(`${otherOrigin}/index.html`);
      const token = await rig.h.token({ permissions: ['idn:nesr:read'] });
      const printed = (code.get('bearer') ?? '').replace(SANDBOX_URL, rig.h.url).replace('NESR_READER_TOKEN', token);
      const logged = (await page.evaluate(inPage(printed))) as unknown[][];
      assert.equal(logged.length, 1);
      const [disposition, requestId, lines] = logged[0] as [string, string, number];
      assert.match(disposition, /^attachment; filename=".+\.csv"$/);
      assert.match(requestId, /^[\w-]{8,}$/);
      assert.equal(lines, 20_002, 'a header, 20 000 rows and the final newline');
    });
  });

  it('sailpoint-api-client with the gateway as its base URL, in Node', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sdk-snippet-'));
    try {
      const file = join(dir, 'snippet.mjs');
      const sdk = import.meta.resolve('sailpoint-api-client');
      await writeFile(file, (code.get('sdk') ?? '').replace(SANDBOX_URL, rig.h.url).replace("'sailpoint-api-client'", JSON.stringify(sdk)));
      const { stdout } = await promisify(execFile)(process.execPath, [file], { env: { PATH: process.env.PATH ?? '', CERT_ADMIN: await rig.h.token({ roles: ['CERT_ADMIN'] }) } });
      // The report the session snippet started, above.
      assert.match(stdout, /^\[ 'CAMPAIGN_STATUS_REPORT (PENDING|SUCCESS)' \]\n$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
