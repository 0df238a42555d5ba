import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { registerUser } from './support/browser-demo';
import { describeInChromium } from './support/chromium';
import { chromiumSuite, logInThroughPage, meFromPage, openDemo, screenshot, stateOf, waitForState } from './support/page-kit';

const PASSWORD = 'correct horse battery';
/** A readable address for the pictures; the run's database is fresh, and no other file uses it. */
const EMAIL = 'ada@example.com';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** A phone's browser, so that the second device reads as one in the sessions list. */
const PHONE_USER_AGENT =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1';
/**
 * TESSERA_DOCS_SCREENSHOTS=1 also copies the signed-in pictures to docs/images/ (the
 * README shows them): they are made by this test, never by hand.
 */
const DOCS_IMAGES = process.env.TESSERA_DOCS_SCREENSHOTS === '1' ? join(__dirname, '../../../../docs/images') : undefined;

describeInChromium('screenshots of the demo page (Chromium, real PostgreSQL)', () => {
  const suite = chromiumSuite();
  const { problems } = suite;
  // Pictures that read the same on every run: light scheme, one locale and time zone.
  const newDevice = (options: { viewport: { width: number; height: number }; userAgent?: string; isMobile?: boolean }) =>
    suite.newDevice({ ...options, colorScheme: 'light', locale: 'en-GB', timezoneId: 'UTC' });

  test('signed out, signed in with two devices (desktop and phone), and a session ended elsewhere', async () => {
    await registerUser(suite.demo, EMAIL, PASSWORD);
    const desktop = await openDemo(await newDevice({ viewport: DESKTOP }), suite.demo, problems, 'desktop');
    expect(await stateOf(desktop)).toBe('signed-out');
    await screenshot(desktop, 'signed-out');
    await logInThroughPage(desktop, EMAIL, PASSWORD);

    const phone = await openDemo(await newDevice({ viewport: PHONE, userAgent: PHONE_USER_AGENT, isMobile: true }), suite.demo, problems, 'phone');
    await logInThroughPage(phone, EMAIL, PASSWORD);
    const phoneSession = (await meFromPage(phone)).body.sessionId ?? '';
    // Both lists show both devices before the pictures are taken.
    for (const page of [desktop, phone]) {
      await page.locator('[data-testid=session-item]').nth(1).waitFor({ timeout: 15_000 });
      expect(await page.locator('[data-testid=session-item]').count()).toBe(2);
    }
    // The phone shows, in the desktop's list, as a phone in words.
    expect(await desktop.locator(`[data-testid=session-item][data-session-id="${phoneSession}"]`).textContent()).toMatch(/iPhone|iOS/);
    // The refresh panel with a refresh in it.
    await desktop.locator('[data-testid=refresh-now]').click();
    await desktop.locator('[data-testid=last-refresh-at]').filter({ hasText: /\d{4}-\d\d-\d\dT/ }).waitFor({ timeout: 15_000 });
    await phone.locator('[data-testid=session-item]').nth(1).waitFor({ timeout: 15_000 });

    const signedIn = await screenshot(desktop, 'signed-in');
    // The phone as its screen shows it: the first 390 × 844 pixels.
    const signedInPhone = await screenshot(phone, 'signed-in-phone', { fullPage: false });
    if (DOCS_IMAGES) {
      mkdirSync(DOCS_IMAGES, { recursive: true });
      copyFileSync(signedIn, join(DOCS_IMAGES, 'demo-page.png'));
      copyFileSync(signedInPhone, join(DOCS_IMAGES, 'demo-page-phone.png'));
      console.log(`copied to ${DOCS_IMAGES}/suite.demo-page.png and suite.demo-page-phone.png`);
    }

    // The desktop revokes the phone: the phone's page ends.
    await desktop.locator(`[data-testid=session-item][data-session-id="${phoneSession}"] [data-testid=revoke-session]`).click();
    await waitForState(phone, 'ended');
    await screenshot(phone, 'ended-phone', { fullPage: false });
    await desktop.locator('[data-testid=logout]').click();
    await waitForState(desktop, 'ended');
    await screenshot(desktop, 'ended');
  });
});
