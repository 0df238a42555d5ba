import type { Browser, BrowserContext } from 'playwright-core';
import { canLogIn, eventually, registerUser, startBrowserDemo, uniqueEmail } from './support/browser-demo';
import type { BrowserDemo } from './support/browser-demo';
import { describeInChromium, launchChromium } from './support/chromium';
import { PageProblems, logInThroughPage, openDemo, reportCspViolations } from './support/page-kit';

const PASSWORD = 'correct horse battery';
const NEW_PASSWORD = 'a brand new password';
/** FRESH_SESSION_MAX_AGE of this suite's app: short, as Chromium (and so the server) keeps real time. */
const MAX_AGE_MS = 1_000;

describeInChromium('the demo page in Chromium: the step-up prompt on 401 reauthentication_required (real PostgreSQL)', () => {
  let demo: BrowserDemo;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems = new PageProblems();

  beforeAll(async () => {
    demo = await startBrowserDemo({ FRESH_SESSION_MAX_AGE: `${MAX_AGE_MS}ms` });
    browser = await launchChromium();
  });

  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await demo?.close();
  });

  afterEach(() => problems.expectNone());

  test('a stale session asks for the password, re-authenticates through the client and retries the password change once', async () => {
    const email = uniqueEmail('stepup');
    await registerUser(demo, email, PASSWORD);
    const context = await browser.newContext();
    await reportCspViolations(context);
    contexts.push(context);
    const page = await openDemo(context, demo, problems, 'tab');
    await logInThroughPage(page, email, PASSWORD);
    const loggedInAt = Date.now();
    // The server runs on this process's clock: wait until the login is older than the maximum
    // age (auth_time is in whole seconds, so one second more), whatever the machine's speed.
    await eventually('the session to be stale', () => (Date.now() > loggedInAt + MAX_AGE_MS + 1_000 ? true : undefined));

    const form = page.locator('form[data-testid=password-form]');
    await form.locator('input[name=currentPassword]').fill(PASSWORD);
    await form.locator('input[name=newPassword]').fill(NEW_PASSWORD);
    await page.locator('[data-testid=change-password]').click();

    const prompt = page.locator('form[data-testid=reauth-form]');
    await prompt.waitFor({ state: 'visible', timeout: 15_000 });
    // A wrong password: said in the prompt, which stays.
    await prompt.locator('input[name=password]').fill('not the password');
    await page.locator('[data-testid=reauth-submit]').click();
    await page.locator('[data-testid=reauth-error]', { hasText: 'Wrong password' }).waitFor({ timeout: 15_000 });
    expect(await prompt.isVisible()).toBe(true);

    const retried = page.waitForResponse(
      (response) => response.request().method() === 'POST' && response.url() === `${demo.url}/api/me/password` && response.status() === 204,
    );
    await prompt.locator('input[name=password]').fill(PASSWORD);
    await page.locator('[data-testid=reauth-submit]').click();
    await retried;
    await prompt.waitFor({ state: 'hidden', timeout: 15_000 });
    await page.locator('[data-testid=notice]', { hasText: 'Password changed' }).waitFor({ timeout: 15_000 });
    expect(await canLogIn(demo, email, NEW_PASSWORD)).toBe(true);

    const steps = demo.served.filter((entry) => entry.method === 'POST' && entry.url === '/auth/reauthenticate').map((entry) => entry.status);
    expect(steps).toEqual([401, 204]);
    const changes = demo.served.filter((entry) => entry.method === 'POST' && entry.url === '/api/me/password').map((entry) => entry.status);
    expect(changes).toEqual([401, 204]);
  });
});
