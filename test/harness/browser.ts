/**
 * Headless Chromium for the admin UI's tests: Debian's `chromium` package (/usr/bin/chromium)
 * driven by playwright-core, which never downloads a browser of its own. One browser per test
 * file; each test opens its own context (fresh cookies, optional HTTP Basic credentials).
 * Playwright gives the browser a new temporary user-data-dir and removes it when it closes.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Flags for a closed network: without the background-networking ones, Chromium keeps trying to
 * reach Google's hosts at start and its connections are refused, many at a time.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where screenshots go: test-artifacts/screenshots at the repository's root (from dist/test/harness). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../../test-artifacts/screenshots/', import.meta.url));

export interface PageOptions {
  /** HTTP Basic credentials the browser sends when asked. */
  httpCredentials?: { username: string; password: string };
}

export interface TestPage {
  page: Page;
  /** Errors thrown in the page and console errors, to assert there were none. */
  errors: string[];
  /** Every dialog the page opened (alert, confirm, prompt), by type and message. */
  dialogs: Array<{ type: string; message: string }>;
  /** Answers the next confirm() with yes (true) or no (false). Unexpected dialogs are dismissed. */
  answerNextConfirm(yes: boolean): void;
}

/**
 * Launches Chromium before the file's tests and closes it after them. `newPage`, called in a
 * test, opens a page in a new context that is closed after that test.
 */
export function useBrowser(): { newPage(options?: PageOptions): Promise<TestPage> } {
  let browser: Browser | undefined;
  const contexts = new Set<BrowserContext>();
  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  });
  after(async () => {
    await Promise.all([...contexts].map((context) => context.close().catch(() => {})));
    await browser?.close();
  });
  return {
    async newPage(options = {}) {
      if (!browser) throw new Error('useBrowser(): the browser starts in before(); call newPage in a test');
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        ...(options.httpCredentials ? { httpCredentials: options.httpCredentials } : {}),
      });
      contexts.add(context);
      after(async () => {
        contexts.delete(context);
        await context.close();
      });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const errors: string[] = [];
      const dialogs: TestPage['dialogs'] = [];
      const answers: boolean[] = [];
      page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
      page.on('console', (message) => {
        // A refused request (401, 403, 503) is logged by Chromium as a console error; the tests
        // that cause one check the page's own report of it instead.
        if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) {
          errors.push(`console: ${message.text()}`);
        }
      });
      page.on('dialog', (dialog) => {
        dialogs.push({ type: dialog.type(), message: dialog.message() });
        const answer = dialog.type() === 'confirm' ? answers.shift() : undefined;
        void (answer ? dialog.accept() : dialog.dismiss()).catch(() => {});
      });
      return { page, errors, dialogs, answerNextConfirm: (yes) => answers.push(yes) };
    },
  };
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${name}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Serves a request handler on a free port of 127.0.0.1; closed after the test that calls it. */
export async function serve(handler: RequestListener): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server };
}
