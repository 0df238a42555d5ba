import { parseSetCookies } from '@tessera/testing-support';
import type { Page, WebSocket } from 'playwright-core';
import { eventually, registerUser, sessionRow, uniqueEmail } from './support/browser-demo';
import { describeInChromium } from './support/chromium';
import { chromiumSuite, logInThroughPage, meFromPage, openDemo, stateOf, waitForState } from './support/page-kit';

const PASSWORD = 'correct horse battery';
const ACCESS = '__Host-tessera-at';
const REFRESH = '__Secure-tessera-rt';
const CSRF = '__Host-tessera-csrf';
/** How long a revocation may take to reach another device's tab (the push); generous for a loaded CI machine. */
const PROPAGATION_BOUND_MS = 8_000;

/** Everything the page's origin keeps in Web Storage, as one string per entry. */
function webStorage(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const entries: string[] = [];
    for (const storage of [localStorage, sessionStorage]) {
      for (let i = 0; i < storage.length; i++) {
        const key = storage.key(i) ?? '';
        entries.push(`${key}=${storage.getItem(key) ?? ''}`);
      }
    }
    return entries;
  });
}

/** The socket.io frames a page's WebSockets receive, as text. */
function recordSocketFrames(page: Page): string[] {
  const frames: string[] = [];
  page.on('websocket', (socket: WebSocket) => {
    socket.on('framereceived', (frame) => frames.push(typeof frame.payload === 'string' ? frame.payload : frame.payload.toString('utf8')));
  });
  return frames;
}

describeInChromium('the demo page in Chromium: cookies, revocation by push, logout in every tab (real PostgreSQL)', () => {
  const suite = chromiumSuite();
  const { problems } = suite;
  const newDevice = () => suite.newDevice();

  test('login through the page sets the contract cookies (HttpOnly, Secure, SameSite, Path, no Domain) and leaves no token where script can read it', async () => {
    const email = uniqueEmail('cookies');
    await registerUser(suite.demo, email, PASSWORD);
    const page = await openDemo(await newDevice(), suite.demo, problems, 'tab');
    expect(await stateOf(page)).toBe('signed-out');

    const loginAnswer = page.waitForResponse((response) => response.request().method() === 'POST' && response.url() === `${suite.demo.url}/auth/login`);
    await logInThroughPage(page, email, PASSWORD);
    const login = await loginAnswer;
    expect(login.status()).toBe(200);

    // As the server set them: with the prefixes' rules (RFC 6265bis "Cookie Name Prefixes": Secure, and for __Host- Path=/ and no Domain).
    const setCookies = parseSetCookies((await login.headersArray()).filter((h) => h.name.toLowerCase() === 'set-cookie').map((h) => h.value));
    const attributes = Object.fromEntries(
      setCookies.map((cookie) => [cookie.name, { ...cookie.attributes, expires: undefined, 'max-age': undefined }]),
    );
    expect(attributes).toEqual({
      [ACCESS]: { httponly: true, secure: true, samesite: 'Lax', path: '/', expires: undefined, 'max-age': undefined },
      [REFRESH]: { httponly: true, secure: true, samesite: 'Strict', path: '/auth', expires: undefined, 'max-age': undefined },
      [CSRF]: { secure: true, samesite: 'Lax', path: '/', expires: undefined, 'max-age': undefined },
    });

    // As Chromium kept them over http://localhost: all three accepted, host-only (no leading dot: no Domain).
    const jar = await page.context().cookies();
    const kept = Object.fromEntries(jar.map(({ name, domain, path, httpOnly, secure, sameSite }) => [name, { domain, path, httpOnly, secure, sameSite }]));
    expect(kept).toEqual({
      [ACCESS]: { domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' },
      [REFRESH]: { domain: 'localhost', path: '/auth', httpOnly: true, secure: true, sameSite: 'Strict' },
      [CSRF]: { domain: 'localhost', path: '/', httpOnly: false, secure: true, sameSite: 'Lax' },
    });
    const value = (name: string) => jar.find((cookie) => cookie.name === name)?.value ?? '';

    // Script sees the CSRF cookie and nothing else.
    expect(await page.evaluate(() => document.cookie)).toBe(`${CSRF}=${value(CSRF)}`);
    // No token in Web Storage: neither cookie's value, nor anything shaped like a JWT.
    const stored = await webStorage(page);
    for (const secret of [value(ACCESS), value(REFRESH), value(REFRESH).split('.').slice(2).join('.')]) {
      expect(secret.length).toBeGreaterThan(20);
      expect(stored.filter((entry) => entry.includes(secret))).toEqual([]);
    }
    expect(stored.filter((entry) => /eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(entry))).toEqual([]);
    // The session is the one the page shows.
    const me = await meFromPage(page);
    expect(me).toMatchObject({ status: 200, body: { email } });
    // The list loads after the signed-in view shows: wait for it.
    await page.locator(`[data-testid=session-item][data-session-id="${me.body.sessionId}"] [data-testid=this-device]`).waitFor({ timeout: 15_000 });
    expect(await page.locator('[data-testid=session-item]').count()).toBe(1);
  });

  test("revoking device B's session from device A's list ends it in B's open tab, by the server's push", async () => {
    const email = uniqueEmail('devices');
    await registerUser(suite.demo, email, PASSWORD);
    const a = await openDemo(await newDevice(), suite.demo, problems, 'device A');
    await logInThroughPage(a, email, PASSWORD);
    const b = await openDemo(await newDevice(), suite.demo, problems, 'device B');
    const bFrames = recordSocketFrames(b);
    await logInThroughPage(b, email, PASSWORD);
    const bSession = (await meFromPage(b)).body.sessionId ?? '';
    // B's socket is up (socket.io's CONNECT acknowledgement on the /ws namespace) before A acts.
    await eventually("B's live connection", () => (bFrames.some((frame) => frame.startsWith('40/ws')) ? true : undefined));

    // A's list learns of B's login (push or reload); then A revokes it.
    const bItem = a.locator(`[data-testid=session-item][data-session-id="${bSession}"]`);
    await bItem.waitFor({ timeout: 15_000 });
    expect(await bItem.locator('[data-testid=this-device]').count()).toBe(0);
    const revoked = a.waitForResponse((response) => response.request().method() === 'DELETE' && response.url().endsWith(`/auth/sessions/${bSession}`));
    await bItem.locator('[data-testid=revoke-session]').click();
    expect((await revoked).status()).toBe(204);
    const revokedAt = Date.now();

    await waitForState(b, 'ended', PROPAGATION_BOUND_MS);
    const took = Date.now() - revokedAt;
    console.log(`revocation reached the other device's tab in ${took} ms`);
    expect(await b.locator('[data-testid=ended-reason]').textContent()).toBe('session_revoked');
    // It came by the WebSocket: the server's `session.ended` for B's own session.
    expect(bFrames.filter((frame) => frame.includes('"session.ended"') && frame.includes('session_revoked'))).toHaveLength(1);
    expect((await sessionRow(suite.demo, bSession))?.revokedAt).not.toBeNull();
    expect((await meFromPage(b)).status).toBe(401);

    // A goes on, and its list no longer shows B.
    expect(await stateOf(a)).toBe('signed-in');
    await bItem.waitFor({ state: 'detached', timeout: 15_000 });
    expect((await meFromPage(a)).status).toBe(200);
  });

  test('logout in one tab logs out every tab of that browser', async () => {
    const email = uniqueEmail('tabs');
    await registerUser(suite.demo, email, PASSWORD);
    const device = await newDevice();
    const first = await openDemo(device, suite.demo, problems, 'tab 1');
    await logInThroughPage(first, email, PASSWORD);
    const sessionId = (await meFromPage(first)).body.sessionId ?? '';
    const others = [await openDemo(device, suite.demo, problems, 'tab 2'), await openDemo(device, suite.demo, problems, 'tab 3')];
    const tabs = [first, ...others];
    for (const tab of tabs) expect(await stateOf(tab)).toBe('signed-in');

    await others[0].locator('[data-testid=logout]').click();
    for (const tab of tabs) {
      await waitForState(tab, 'ended');
      expect(await tab.locator('[data-testid=ended-reason]').textContent()).toBe('logout');
    }
    // Gone on the server, and from the browser: no session cookie is left to send.
    expect((await sessionRow(suite.demo, sessionId))?.revokedAt).not.toBeNull();
    expect((await device.cookies()).map((cookie) => cookie.name).filter((name) => name === ACCESS || name === REFRESH)).toEqual([]);
    for (const tab of tabs) expect((await meFromPage(tab)).status).toBe(401);
    // The way back is the login form.
    await first.locator('[data-testid=back-to-login]').click();
    await waitForState(first, 'signed-out');
  });
});
