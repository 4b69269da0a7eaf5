// Headless Chromium (Debian's, installed by test/browser/setup.sh) through puppeteer-core, for the
// report test and benchmark. Every request a page makes is recorded, so a test can assert there
// was none; console errors and page errors likewise.
import { existsSync } from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.RX_CHROMIUM ?? '/usr/bin/chromium';

/** Launches Chromium; undefined (the caller skips) when it is not installed, except under CI=true. */
export async function launchChromium(): Promise<Browser | undefined> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing (CI=true: the browser tests must run); run test/browser/setup.sh as root`);
    return undefined;
  }
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-extensions', '--disable-background-networking', '--disable-component-update'],
  });
}

export interface PageLog {
  /** Every request the page made other than the file itself (data: URLs excluded). */
  requests: string[];
  consoleErrors: string[];
  pageErrors: string[];
}

/** A new page that records requests, console errors and uncaught errors. */
export async function recordingPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; log: PageLog }> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const log: PageLog = { requests: [], consoleErrors: [], pageErrors: [] };
  let first: string | undefined;
  page.on('request', r => {
    const url = r.url();
    if (url.startsWith('data:')) return;
    if (first === undefined) { first = url; return; } // the page itself
    log.requests.push(url);
  });
  page.on('console', m => { if (m.type() === 'error') log.consoleErrors.push(m.text()); });
  page.on('pageerror', e => log.pageErrors.push(String((e as Error).message ?? e)));
  return { page, log };
}
