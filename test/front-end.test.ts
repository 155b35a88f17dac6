// The example front-end (examples/front-end/) in a real browser: Debian's chromium driven by
// playwright-core, against the gateway, the tenant and the OpenID Connect provider, all real.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { realisticCsv } from '../src/sandbox/csv.ts';
import { launchChromium } from './support/chromium.ts';
import { CAMPAIGN } from './support/harness.ts';
import { PERSONAS, startSessionRig, type SessionRig } from './support/session-rig.ts';

// Evaluated in the page (as text: this project's TypeScript has no DOM types).
const READ_STORAGE = '({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length })';

const SMALL = 'source-small';
const LARGE = 'source-large';
const SMALL_CSV = realisticCsv(40);
const LARGE_CSV = realisticCsv(5000);

describe('the example front-end in Chromium: session mode', () => {
  let browser: Browser;
  let rig: SessionRig;
  before(async () => {
    browser = await launchChromium();
    rig = await startSessionRig({
      personas: [...PERSONAS, { id: 'no-grants', name: 'No grants', roles: [], permissions: [] }],
      client: (origin) => ({ post_logout_redirect_uris: [`${origin}/`] }),
      harness: {
        frontEnd: true,
        tenant: { sources: { [SMALL]: { kind: 'fixed', body: SMALL_CSV, contentLength: true }, [LARGE]: { kind: 'fixed', body: LARGE_CSV, contentLength: false } }, reportReadyMs: 1500 },
      },
    });
  });
  after(async () => {
    await browser?.close();
    await rig?.close();
  });

  /** A fresh browser profile logged in through the provider's persona picker, on /app/. */
  async function loggedIn(persona: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${rig.h.url}/app/`);
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByRole('button', { name: new RegExp(PERSONAS.find((p) => p.id === persona)?.name ?? 'No grants') }).click();
    await page.waitForURL(`${rig.h.url}/app/`);
    await page.locator('#who').waitFor();
    return { context, page };
  }

  it('a certification admin logs in on the provider’s page, starts a report with a double click (one report), follows it and downloads its file; logout refuses the old cookie', async () => {
    const { context, page } = await loggedIn('cert-admin');
    try {
      assert.equal(await page.locator('#who-name').textContent(), 'Certification admin');
      assert.equal(await page.locator('#who-roles').textContent(), 'CERT_ADMIN');
      // No token, nor the session cookie, is readable by the page's scripts.
      const storage = await page.evaluate(READ_STORAGE);
      assert.deepEqual(storage, { cookie: '', local: 0, session: 0 });

      await page.getByLabel('Campaign id').fill(CAMPAIGN);
      await page.getByLabel('Report type').selectOption('CAMPAIGN_STATUS_REPORT');
      await page.getByRole('button', { name: 'Start report' }).dblclick();
      await page.locator('#report-message', { hasText: 'Campaign Status Report: SUCCESS' }).waitFor({ timeout: 20_000 });
      const starts = rig.h.tenant.requests.filter((r) => r.operation === 'runReport');
      assert.equal(starts.length, 1, 'the double click started one report');
      const asked = rig.h.logs().filter((l) => l.msg === 'request completed' && l.method === 'POST' && String(l.path).includes('/run-report/'));
      assert.equal(asked.length, 2, 'both clicks reached the gateway, with one Idempotency-Key');

      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#report-table a', { hasText: 'CSV' }).first().click()]);
      const report = rig.h.tenant.reports.list(CAMPAIGN).find((r) => r.reportType === 'CAMPAIGN_STATUS_REPORT');
      assert.ok(report);
      assert.deepEqual(await readFile(await download.path()), rig.h.tenant.reports.file(report.id, 'csv'));
      assert.match(download.suggestedFilename(), /\.csv$/);

      const cookie = (await context.cookies()).find((c) => c.name === '__Host-bff-session');
      assert.ok(cookie?.httpOnly && cookie.secure);
      await page.getByRole('button', { name: 'Log out' }).click();
      // The provider's end-session page asks, then sends the browser back to the gateway's origin.
      await page.getByRole('button', { name: /yes|sign out|log ?out/i }).click();
      await page.waitForURL(`${rig.h.url}/app/`);
      await page.getByRole('link', { name: 'Log in' }).waitFor();
      const replay = await fetch(`${rig.h.url}/bff/user`, { headers: { cookie: `${cookie.name}=${cookie.value}`, 'x-csrf': '1' } });
      assert.equal(replay.status, 401);
    } finally {
      await context.close();
    }
  });
});
