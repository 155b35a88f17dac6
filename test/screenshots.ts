// npm run screenshots — the example front-end's main screens, taken in Chromium against the real
// gateway, tenant and provider (the same rig as test/front-end.test.ts), into docs/front-end/.
import { mkdirSync } from 'node:fs';
import { realisticCsv } from '../src/sandbox/csv.ts';
import { launchChromium } from './support/chromium.ts';
import { CAMPAIGN } from './support/harness.ts';
import { startSessionRig } from './support/session-rig.ts';

const OUT = 'docs/front-end';
const SOURCE = 'contractors';

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const browser = await launchChromium();
  const rig = await startSessionRig({
    personas: [
      { id: 'cert-admin', name: 'Certification admin', roles: ['CERT_ADMIN'], permissions: [] },
      { id: 'nesr-reader', name: 'Non-employee reader', roles: [], permissions: ['idn:nesr:read'] },
    ],
    client: (origin) => ({ post_logout_redirect_uris: [`${origin}/`] }),
    harness: { frontEnd: true, tenant: { sources: { [SOURCE]: { kind: 'fixed', body: realisticCsv(20_000), contentLength: false } }, reportReadyMs: 1500 } },
  });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })).newPage();
    const shot = (name: string) => page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });
    await page.goto(`${rig.h.url}/app/`);
    await page.getByRole('link', { name: 'Log in' }).waitFor();
    await shot('1-logged-out');
    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Certification admin' }).waitFor();
    await shot('2-persona-picker');
    await page.getByRole('button', { name: 'Certification admin' }).click();
    await page.waitForURL(`${rig.h.url}/app/`);
    await page.getByLabel('Campaign id').fill(CAMPAIGN);
    for (const type of ['CAMPAIGN_COMPOSITION_REPORT', 'CAMPAIGN_STATUS_REPORT']) {
      await page.getByLabel('Report type').selectOption(type);
      await page.getByRole('button', { name: 'Start report' }).click();
      await page.locator('#report-message', { hasText: ': SUCCESS' }).waitFor({ timeout: 20_000 });
    }
    await page.getByLabel('Source id').fill(SOURCE);
    await page.getByRole('button', { name: 'Download CSV' }).click();
    await page.locator('#export-message', { hasText: 'Not allowed' }).waitFor();
    await shot('3-reports-and-forbidden');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: /yes|sign out/i }).click();
    await page.waitForURL(`${rig.h.url}/app/`);

    await page.getByRole('link', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Non-employee reader' }).click();
    await page.waitForURL(`${rig.h.url}/app/`);
    rig.h.tenant.addFault('export', { kind: 'stall-body', afterBytes: 1_200_000 });
    await page.getByLabel('Source id').fill(SOURCE);
    await page.getByRole('button', { name: 'Download CSV' }).click();
    await page.locator('#csv-count', { hasText: '1,200,000 bytes' }).waitFor();
    await shot('4-export-in-progress');
  } finally {
    await browser.close();
    await rig.close();
  }
  console.log(`screenshots written to ${OUT}/`);
}

await main();
