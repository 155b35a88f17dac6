// The example front-end (examples/front-end/) in a real browser: Debian's chromium driven by
// playwright-core, against the gateway, the tenant and the OpenID Connect provider, all real.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { realisticCsv } from '../src/sandbox/csv.ts';
import { inFreshPage, launchChromium, logInThroughApp, staticFrontEnd } from './support/chromium.ts';
import { CAMPAIGN, campaignReportsPath, eventually, exportPath, startHarness, type Harness } from './support/harness.ts';
import { pastRenewal, PERSONAS, startSessionRig, type SessionRig } from './support/session-rig.ts';

// Evaluated in the page (as text: this project's TypeScript has no DOM types).
const READ_STORAGE = '({ cookie: document.cookie, local: localStorage.length, session: sessionStorage.length })';

const UNLABELLED_CONTROLS = `[...document.querySelectorAll('input, select, textarea, button, progress')]
  .filter((el) => !el.closest('[hidden]') && !(el.labels?.length || el.textContent.trim() || el.getAttribute('aria-label')))
  .map((el) => el.id)`;

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
    await logInThroughApp(page, rig.h.url, PERSONAS.find((p) => p.id === persona)?.name ?? persona);
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

  it('works from the keyboard alone, and every control has a label', async () => {
    await inFreshPage(browser, async (page) => {
      await page.goto(`${rig.h.url}/app/`);
      await page.getByRole('link', { name: 'Log in' }).waitFor();
      assert.equal(await page.evaluate('document.activeElement.id'), 'login-link', 'focus starts on the way in');
      await page.keyboard.press('Enter');
      await page.getByRole('button', { name: 'Certification admin' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(`${rig.h.url}/app/`);
      await page.locator('#who').waitFor();
      const unlabelled = await page.evaluate(UNLABELLED_CONTROLS);
      assert.deepEqual(unlabelled, []);
      await page.getByLabel('Campaign id').focus();
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate('document.activeElement.id'), 'report-type');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate('document.activeElement.id'), 'start-report');
      await page.keyboard.press('Enter');
      await page.locator('#report-message', { hasText: /Report started|SUCCESS/ }).waitFor({ timeout: 20_000 });
    });
  });

  it('a non-employee reader downloads CSVs with progress (bytes of Content-Length, or bytes and rows when chunked), byte for byte', async () => {
    const { context, page } = await loggedIn('nesr-reader');
    try {
      assert.match(await page.locator('#who-scopes').textContent() ?? '', /\bidn:nesr:read\b/);
      for (const [source, body, shown] of [[SMALL, SMALL_CSV, `${SMALL_CSV.length.toLocaleString('en-US')} of ${SMALL_CSV.length.toLocaleString('en-US')} bytes`], [LARGE, LARGE_CSV, `${LARGE_CSV.length.toLocaleString('en-US')} bytes, 5,001 rows`]] as const) {
        await page.getByLabel('Source id').fill(source);
        const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
        assert.deepEqual(await readFile(await download.path()), body, `${source}: the tenant's bytes`);
        await page.locator('#export-message', { hasText: 'Saved' }).waitFor();
        assert.equal(await page.locator('#csv-count').textContent(), shown);
      }
    } finally {
      await context.close();
    }
  });

  it('errors the way a person wants them: a 403 names the scope missing; a cut download says so and saves nothing; Cancel really aborts', async () => {
    const admin = await loggedIn('cert-admin');
    const reader = await loggedIn('nesr-reader');
    try {
      await admin.page.getByLabel('Source id').fill(SMALL);
      await admin.page.getByRole('button', { name: 'Download CSV' }).click();
      await admin.page.locator('#export-message', { hasText: 'Not allowed: This needs the scope idn:nesr:read, which you do not have.' }).waitFor();

      const { page } = reader;
      const downloads: unknown[] = [];
      page.on('download', (d) => downloads.push(d));
      rig.h.tenant.addFault('export', { kind: 'reset-mid-body', afterBytes: 2000 });
      await page.getByLabel('Source id').fill(LARGE);
      await page.getByRole('button', { name: 'Download CSV' }).click();
      await page.locator('#export-message', { hasText: /^Download cut: The download was cut after [\d,]+ bytes; nothing was saved/ }).waitFor();

      rig.h.tenant.addFault('export', { kind: 'stall-body', afterBytes: 3000 });
      await page.getByRole('button', { name: 'Download CSV' }).click();
      await page.locator('#csv-count', { hasText: '3,000 bytes' }).waitFor();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.locator('#export-message', { hasText: 'Cancelled: Cancelled after 3,000 bytes; nothing was saved.' }).waitFor();
      // The gateway saw the caller go: the stream ended there, unfinished.
      await eventually(() => rig.h.logs().some((l) => l.msg === 'request completed' && String(l.path).includes(LARGE) && l.completed === false && l.bytes === 3000), 'the gateway ended the stalled stream');
      assert.equal(downloads.length, 0, 'nothing was saved');
    } finally {
      await admin.context.close();
      await reader.context.close();
    }
  });
});

// A fetch from the page, given as text (no DOM types here); resolves to what the page could read.
const crossOriginFetch = (url: string, token: string) => `fetch(${JSON.stringify(url)}, { headers: { Authorization: ${JSON.stringify(`Bearer ${token}`)} } })
  .then((r) => ({ status: r.status, requestId: r.headers.get('x-request-id'), disposition: r.headers.get('content-disposition'), retryAfter: r.headers.get('retry-after') }))
  .catch((e) => ({ failed: String(e) }))`;

describe('the example front-end in Chromium: bearer mode from another origin', () => {
  let browser: Browser;
  let h: Harness;
  let allowed: Awaited<ReturnType<typeof staticFrontEnd>>;
  let other: Awaited<ReturnType<typeof staticFrontEnd>>;
  let token: string;
  before(async () => {
    browser = await launchChromium();
    allowed = await staticFrontEnd();
    other = await staticFrontEnd();
    h = await startHarness({
      env: { CORS_ORIGINS: allowed.origin },
      tenant: { sources: { [SMALL]: { kind: 'fixed', body: SMALL_CSV, contentLength: true } }, reportReadyMs: 1000 },
      frontEnd: true,
    });
    token = await h.token({ sub: 'front-end-user', roles: ['CERT_ADMIN'], permissions: ['idn:nesr:read'] });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
    await allowed?.close();
    await other?.close();
  });

  async function pageAt(origin: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${origin}/index.html?gateway=${encodeURIComponent(h.url)}`);
    await page.getByLabel('Token from your identity provider').fill(token);
    await page.getByRole('button', { name: 'Use this token' }).click();
    return { context, page };
  }

  it('a listed origin calls with a bearer token through CORS: the report loop and a CSV work, the exposed headers are readable, nothing is stored', async () => {
    const { context, page } = await pageAt(allowed.origin);
    try {
      assert.equal(await page.locator('#who-roles').textContent(), 'CERT_ADMIN');
      await page.getByRole('button', { name: 'Start report' }).click();
      await page.locator('#report-message', { hasText: 'Campaign Status Report: SUCCESS' }).waitFor({ timeout: 20_000 });
      const report = h.tenant.reports.list(CAMPAIGN).find((r) => r.reportType === 'CAMPAIGN_STATUS_REPORT');
      assert.ok(report);
      const [file] = await Promise.all([page.waitForEvent('download'), page.locator('#report-table a', { hasText: 'PDF' }).first().click()]);
      assert.deepEqual(await readFile(await file.path()), h.tenant.reports.file(report.id, 'pdf'));
      await page.getByLabel('Source id').fill(SMALL);
      const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
      assert.deepEqual(await readFile(await csv.path()), SMALL_CSV);

      // The preflight came first (Authorization and Idempotency-Key are not simple headers).
      assert.ok(h.logs().some((l) => l.msg === 'request completed' && l.method === 'OPTIONS' && l.status === 204), 'a CORS preflight was answered');
      const read = (await page.evaluate(crossOriginFetch(`${h.url}${exportPath(SMALL)}`, token))) as Record<string, unknown>;
      assert.equal(read.status, 200);
      assert.match(String(read.requestId), /^[\w-]{8,}$/, 'X-Request-Id is exposed');
      assert.match(String(read.disposition), /^attachment; filename=".+\.csv"$/, 'Content-Disposition is exposed');
      assert.deepEqual(await page.evaluate(READ_STORAGE), { cookie: '', local: 0, session: 0 }, 'the token is in no storage');
    } finally {
      await context.close();
    }
  });

  it('when SailPoint’s token endpoint is down, the page says SailPoint is unavailable, and Retry-After is readable cross-origin', async () => {
    const { context, page } = await pageAt(allowed.origin);
    try {
      h.tenant.revokeTokens();
      h.tenant.addFault('token', { kind: 'status', status: 503 }, 20);
      await page.getByRole('button', { name: 'Show reports' }).click();
      await page.locator('#report-message', { hasText: 'Unavailable: The SailPoint token endpoint is unavailable' }).waitFor();
      const read = (await page.evaluate(crossOriginFetch(`${h.url}${campaignReportsPath(CAMPAIGN)}`, token))) as Record<string, unknown>;
      assert.equal(read.status, 503);
      assert.match(String(read.retryAfter), /^\d+$/, 'Retry-After is exposed');
    } finally {
      h.tenant.clearFaults();
      await context.close();
    }
  });

  it('an origin not in CORS_ORIGINS is refused by the browser itself: the page says no answer came, and its script reads nothing', async () => {
    const { context, page } = await pageAt(other.origin);
    try {
      await page.getByRole('button', { name: 'Show reports' }).click();
      await page.locator('#report-message', { hasText: 'No answer: The gateway could not be reached' }).waitFor();
      const read = (await page.evaluate(crossOriginFetch(`${h.url}${campaignReportsPath(CAMPAIGN)}`, token))) as Record<string, unknown>;
      assert.match(String(read.failed), /TypeError: Failed to fetch/);
      const preflights = h.logs().filter((l) => l.msg === 'request completed' && l.method === 'OPTIONS' && l.status === 404);
      assert.ok(preflights.length >= 1, 'the gateway answered its preflight 404, without CORS headers');
    } finally {
      await context.close();
    }
  });
});

describe('the example front-end in Chromium: the shared budget used up', () => {
  let browser: Browser;
  let h: Harness;
  before(async () => {
    browser = await launchChromium();
    // Two upstream calls per 3 s and no queueing: the third call in a row is a 429 with Retry-After.
    h = await startHarness({ env: { UPSTREAM_RATE_LIMIT: '2', UPSTREAM_RATE_BURST: '2', UPSTREAM_RATE_WINDOW_MS: '3000', UPSTREAM_QUEUE_WAIT_MS: '0' }, frontEnd: true });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('a 429 shows a countdown from Retry-After, and the call is made again when it ends', async () => {
    await inFreshPage(browser, async (page) => {
      await page.goto(`${h.url}/app/?gateway=${encodeURIComponent(h.url)}`);
      await page.getByLabel('Token from your identity provider').fill(await h.token({ roles: ['CERT_ADMIN'] }));
      await page.getByRole('button', { name: 'Use this token' }).click();
      const show = page.getByRole('button', { name: 'Show reports' });
      await show.click();
      await show.click();
      await page.locator('#report-message', { hasText: /^$/ }).waitFor();
      await show.click();
      await page.locator('#report-message', { hasText: /trying again in \d s/ }).waitFor();
      const lists = () => h.tenant.requests.filter((r) => r.operation === 'listReports').length;
      assert.equal(lists(), 2, 'the third call was refused at the gateway, not sent');
      await page.locator('#report-message', { hasText: /^$/ }).waitFor({ timeout: 10_000 });
      assert.equal(lists(), 3, 'and made again after the countdown');
      assert.ok(h.logs().some((l) => l.msg === 'request completed' && l.status === 429), 'the gateway answered 429');
    });
  });
});

describe('the example front-end in Chromium: the identity provider down', () => {
  it('when the session is due for renewal and the provider is unreachable, the page says the identity provider is unreachable (a 503), not “logged out”', async () => {
    const browser = await launchChromium();
    const rig = await startSessionRig({ accessTokenTtlS: 2, harness: { frontEnd: true } });
    try {
      const page = await (await browser.newContext()).newPage();
      await logInThroughApp(page, rig.h.url, 'Certification admin');
      await rig.idp.close();
      await pastRenewal();
      await page.getByRole('button', { name: 'Show reports' }).click();
      await page.locator('#report-message', { hasText: 'Unavailable: The identity provider is unreachable; the session could not be renewed now.' }).waitFor();
    } finally {
      await browser.close();
      await rig.close();
    }
  });
});
