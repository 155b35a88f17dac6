// Debian's chromium, headless, driven by playwright-core (no browser download): the real browser
// the front-end tests run in. The flags keep it off the network beyond loopback.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { FRONT_END_DIR } from '../../src/sandbox/front-end.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page in a fresh browser profile for `use`; the profile is thrown away after, whatever happened. */
export async function inFreshPage<T>(browser: Browser, use: (page: Page) => Promise<T>): Promise<T> {
  const context = await browser.newContext();
  try {
    return await use(await context.newPage());
  } finally {
    await context.close();
  }
}

/** The example front-end's files served on a port of their own: another origin than the gateway's. */
export async function staticFrontEnd(): Promise<{ origin: string; close(): Promise<void> }> {
  const server = express().use(express.static(FRONT_END_DIR)).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Opens the app at `gatewayUrl`/app/, follows its Log in link and picks `persona` (its display name) on the provider's page. */
export async function logInThroughApp(page: Page, gatewayUrl: string, persona: string): Promise<void> {
  await page.goto(`${gatewayUrl}/app/`);
  await page.getByRole('link', { name: 'Log in' }).click();
  await page.getByRole('button', { name: persona }).click();
  await page.waitForURL(`${gatewayUrl}/app/`);
  await page.locator('#who').waitFor();
}
