import type { BrowserContext, Page } from 'playwright-core';
import { eventually, registerUser, sessionRow, uniqueEmail } from './support/browser-demo';
import type { ServedRequest } from './support/browser-demo';
import { describeInChromium } from './support/chromium';
import { chromiumSuite, logInThroughPage, meFromPage, openDemo, stateOf } from './support/page-kit';

const PASSWORD = 'correct horse battery';
const TABS = 4;
/**
 * The access token's lifetime. Short, so that the test sees several expiries in about 15
 * s; not shorter, so that a slow refresh on a loaded 2-core machine (hundreds of ms) stays
 * well inside the third of the lifetime the client refreshes ahead (2 s here).
 */
const TTL_S = 6;
const EXPIRIES = 3;
/**
 * The client refreshes a third of the lifetime before expiry, so one refresh per token
 * comes every 4 s (a little less when `expiresIn` is rounded down: 3.3 s). Two refreshes
 * for one token (two tabs, or a tab and a socket's expiry) come closer than this.
 */
const MIN_GAP_MS = 2_500;

describeInChromium(`${TABS} tabs of one browser across ${EXPIRIES} access-token expiries (Chromium, real PostgreSQL)`, () => {
  const suite = chromiumSuite({ ACCESS_TOKEN_TTL: `${TTL_S}s` });
  const { problems } = suite;
  let context: BrowserContext;

  beforeAll(async () => {
    context = await suite.newDevice();
  });

  test('make exactly one refresh request per expiry between them (counted on the server), and none is ever logged out', async () => {
    const email = uniqueEmail('tabs');
    await registerUser(suite.demo, email, PASSWORD);
    const first = await openDemo(context, suite.demo, problems, 'tab 1');
    const sinceLogin = suite.demo.served.length;
    await logInThroughPage(first, email, PASSWORD);
    const sessionId = (await meFromPage(first)).body.sessionId ?? '';
    const tabs: Page[] = [first];
    for (let i = 2; i <= TABS; i++) tabs.push(await openDemo(context, suite.demo, problems, `tab ${i}`));
    const startGeneration = (await sessionRow(suite.demo, sessionId))?.generation ?? Number.NaN;

    // Wait on the server's count, sampling every tab meanwhile: any tab seen out of `signed-in` fails the test.
    const leftSignedIn: string[] = [];
    await eventually(
      `${EXPIRIES} refreshes after all ${TABS} tabs were open`,
      async () => {
        const states = await Promise.all(tabs.map((tab) => stateOf(tab)));
        states.forEach((state, i) => state !== 'signed-in' && leftSignedIn.push(`tab ${i + 1}: ${state}`));
        const generation = (await sessionRow(suite.demo, sessionId))?.generation ?? 0;
        return generation >= startGeneration + EXPIRIES ? generation : undefined;
      },
      // Generous: about 12 s on an idle machine; the assertion is about duplicates, not speed.
      90_000,
    );
    expect(leftSignedIn).toEqual([]);

    // A moment with no refresh in flight, so that the requests and the session row agree on what happened.
    const { requests, generation } = await eventually('a moment with no refresh in flight', async () => {
      const before = suite.demo.served.slice(sinceLogin).filter((entry) => entry.method === 'POST' && entry.url === '/auth/refresh');
      if (before.some((entry) => entry.status === 0)) return undefined;
      const row = await sessionRow(suite.demo, sessionId);
      const after = suite.demo.served.slice(sinceLogin).filter((entry) => entry.method === 'POST' && entry.url === '/auth/refresh');
      if (after.length !== before.length || after.some((entry) => entry.status === 0) || !row) return undefined;
      return { requests: before, generation: row.generation };
    });
    const gaps = requests.slice(1).map((entry: ServedRequest, i) => entry.startedAt - requests[i].startedAt);
    console.log(`${requests.length} refresh requests from ${TABS} tabs, generation ${generation}, gaps ${gaps.join(', ')} ms`);

    // Every refresh request rotated the session once: none presented a token another tab had
    // already rotated (that one would have been answered from the reuse grace window, or ended the session).
    expect(requests.map((entry) => entry.status)).toEqual(requests.map(() => 200));
    expect(requests).toHaveLength(generation);
    expect(generation).toBeGreaterThanOrEqual(startGeneration + EXPIRIES);
    // And only one per token: no two refreshes within one lifetime.
    expect(gaps.filter((gap) => gap < MIN_GAP_MS)).toEqual([]);

    // Every tab is still in, on the same session, and agrees on who refreshed last.
    for (const tab of tabs) {
      expect(await stateOf(tab)).toBe('signed-in');
      expect(await meFromPage(tab)).toMatchObject({ status: 200, body: { email, sessionId } });
    }
    expect((await sessionRow(suite.demo, sessionId))?.revokedAt).toBeNull();
    const tabIds = await Promise.all(tabs.map((tab) => tab.locator('[data-testid=this-tab]').textContent()));
    expect(new Set(tabIds).size).toBe(TABS);
    await eventually('every tab to show the same last refresher', async () => {
      const by = await Promise.all(tabs.map((tab) => tab.locator('[data-testid=last-refresh-by]').textContent()));
      return new Set(by).size === 1 && tabIds.includes(by[0]) ? true : undefined;
    });
  }, 150_000);
});
