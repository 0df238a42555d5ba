import { join } from 'node:path';
import type { Browser, BrowserContext, BrowserContextOptions, ConsoleMessage, Page } from 'playwright-core';
import { startBrowserDemo } from './browser-demo';
import type { BrowserDemo } from './browser-demo';
import { artifactsDir, launchChromium } from './chromium';

/** The page's states (`document.body.dataset.state`). */
export type PageState = 'loading' | 'signed-out' | 'signed-in' | 'ended';

/**
 * Chromium logs every 4xx the page's own fetches get as a console error ("Failed to
 * load resource"); those are answers the page handles (401 before login, 403 and 409
 * shown as notices), not script errors. Only those, from the app's own origin, are let
 * through; everything else logged as an error fails the test, CSP violations included.
 */
const HANDLED_STATUS = /^Failed to load resource: the server responded with a status of (401|403|404|409|429) /;

/** What went wrong in the pages a test watched: console errors, uncaught exceptions, CSP violations. */
export class PageProblems {
  readonly problems: string[] = [];

  /** Records the page's console errors, uncaught errors and CSP violations from now on. */
  watch(page: Page, label: string, appOrigin: string): Page {
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() !== 'error' && !/Content.Security.Policy/i.test(message.text())) return;
      const from = message.location().url;
      if (HANDLED_STATUS.test(message.text()) && from.startsWith(appOrigin)) return;
      this.problems.push(`${label}: console ${message.type()}: ${message.text()} (${from})`);
    });
    page.on('pageerror', (error) => this.problems.push(`${label}: uncaught ${error.name}: ${error.message}`));
    page.on('crash', () => this.problems.push(`${label}: the page crashed`));
    return page;
  }

  /** Fails with every problem recorded, then forgets them. */
  expectNone(): void {
    const found = this.problems.splice(0);
    expect(found).toEqual([]);
  }
}

/**
 * Reports CSP violations as console errors: Chromium logs most of them itself, but a
 * `securitypolicyviolation` event is the complete list (the script runs before the
 * page's own, as a browser extension's would, so the CSP does not block it).
 */
export async function reportCspViolations(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`Content Security Policy violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`);
    });
  });
}

/** Opens the demo page in a new tab of `context` and waits until it has found out whether it is signed in. */
export async function openDemo(context: BrowserContext, demo: BrowserDemo, problems: PageProblems, label: string): Promise<Page> {
  const page = problems.watch(await context.newPage(), label, demo.url);
  await page.goto(`${demo.url}/`);
  await page.waitForFunction(() => ['signed-out', 'signed-in', 'ended'].includes(document.body.dataset.state ?? ''), undefined, {
    timeout: 20_000,
  });
  return page;
}

/** The page's state. */
export function stateOf(page: Page): Promise<string | undefined> {
  return page.evaluate(() => document.body.dataset.state);
}

/** Waits until the page is in `state`. */
export async function waitForState(page: Page, state: PageState, timeoutMs = 15_000): Promise<void> {
  await page.waitForFunction((wanted) => document.body.dataset.state === wanted, state, { timeout: timeoutMs });
}

/** Logs in through the form (the page must be signed out) and waits for the signed-in page. */
export async function logInThroughPage(page: Page, email: string, password: string): Promise<void> {
  const form = page.locator('form[data-testid=auth-form]');
  await form.locator('input[name=email]').fill(email);
  await form.locator('input[name=password]').fill(password);
  await page.locator('[data-testid=login]').click();
  await waitForState(page, 'signed-in');
  await page.locator('[data-testid=whoami]', { hasText: email }).waitFor({ timeout: 15_000 });
}

/** What `GET /api/me` answers in the page (the browser's cookies, no client library involved). */
export function meFromPage(page: Page): Promise<{ status: number; body: { email?: string; sessionId?: string; code?: string } }> {
  return page.evaluate(async () => {
    const response = await fetch('/api/me', { credentials: 'same-origin' });
    return { status: response.status, body: (await response.json()) as { email?: string; sessionId?: string; code?: string } };
  });
}

/** Saves a screenshot of `page` (the whole page, or only what the viewport shows) as test artifact `name`.png and prints its path. */
export async function screenshot(page: Page, name: string, { fullPage = true } = {}): Promise<string> {
  const path = join(artifactsDir(), `${name}.png`);
  await page.screenshot({ path, fullPage });
  console.log(`screenshot: ${path}`);
  return path;
}

/** What `chromiumSuite` sets up for a spec file: the demo, one Chromium, and its devices. */
export interface ChromiumSuite {
  /** The demo app under test (started in `beforeAll`). */
  readonly demo: BrowserDemo;
  /** The Chromium every device of the file runs in. */
  readonly browser: Browser;
  /** Console errors, uncaught exceptions and CSP violations of every page: each test ends with none. */
  readonly problems: PageProblems;
  /** A new device (browser context) that reports CSP violations, closed after the file. */
  newDevice(options?: BrowserContextOptions): Promise<BrowserContext>;
}

/**
 * Registers the hooks every Chromium spec file needs: the demo started with `env` and one
 * Chromium before the tests, devices and both closed after them, and no page problem
 * allowed after each test.
 */
export function chromiumSuite(env: Record<string, string> = {}): ChromiumSuite {
  let demo: BrowserDemo | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const problems = new PageProblems();
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started yet (use it inside a test or a hook)`);
    return value;
  };

  beforeAll(async () => {
    demo = await startBrowserDemo(env);
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await demo?.close();
  });

  afterEach(() => problems.expectNone());

  return {
    get demo() {
      return started(demo, 'the demo');
    },
    get browser() {
      return started(browser, 'Chromium');
    },
    problems,
    async newDevice(options: BrowserContextOptions = {}) {
      const context = await started(browser, 'Chromium').newContext(options);
      await reportCspViolations(context);
      contexts.push(context);
      return context;
    },
  };
}
