import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';

/**
 * A real browser for the tests: Debian's Chromium (`apt-get install chromium`), driven by
 * playwright-core, which never downloads a browser of its own. Headless, with a fresh profile
 * per launch and nothing that reaches out to the network by itself.
 */
export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Captures tried before a screenshot fails the test. */
const SCREENSHOT_ATTEMPTS = 3;

/** Where screenshots go (git-ignored). */
export const RESULTS_DIR = path.resolve(__dirname, '../../test-results/browser');

export interface Browser {
  context: BrowserContext;
  /**
   * A new page whose console errors, uncaught exceptions and failed requests are collected —
   * except failures of requests to other origins: the tests run offline, and a library's web
   * font from a CDN (Bull Board's) failing to load changes nothing that is tested.
   */
  open(origin: string): Promise<{ page: Page; errors: string[] }>;
  /** Saves a full-page screenshot as test-results/browser/<name>.png; returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/** Fails (never skips) when Chromium is missing: CI installs it. */
export async function launchBrowser(
  options: { httpCredentials?: { username: string; password: string } } = {},
): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install chromium`);
  }
  const profile = await mkdtemp(path.join(os.tmpdir(), 'chromium-profile-'));
  // A user data dir is only accepted through launchPersistentContext (not as an argument).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    ...(options.httpCredentials ? { httpCredentials: options.httpCredentials } : {}),
  });
  await mkdir(RESULTS_DIR, { recursive: true });
  return {
    context,
    async open(origin) {
      const page = await context.newPage();
      const errors: string[] = [];
      const foreign = (url: string) => url !== '' && !url.startsWith(`${origin}/`);
      page.on('console', (message: ConsoleMessage) => {
        if (message.type() === 'error' && !foreign(message.location().url)) {
          errors.push(message.text());
        }
      });
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('requestfailed', (req) => {
        if (!foreign(req.url())) errors.push(`${req.url()}: ${req.failure()?.errorText ?? ''}`);
      });
      return { page, errors };
    },
    async screenshot(page, name) {
      const file = path.join(RESULTS_DIR, `${name}.png`);
      // Headless Chromium now and then answers a capture with "Unable to capture screenshot"
      // (a compositor frame not ready); the page is the same on the next frame, so try again.
      for (let attempt = 1; ; attempt++) {
        try {
          await page.screenshot({ path: file, fullPage: true });
          return file;
        } catch (error) {
          const transient = String(error).includes('Unable to capture screenshot');
          if (!transient || attempt >= SCREENSHOT_ATTEMPTS) throw error;
          await page.waitForTimeout(250);
        }
      }
    },
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
