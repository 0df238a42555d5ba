import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { canLogIn, passwordHash, registerUser, sessionRow, startBrowserDemo, uniqueEmail } from './support/browser-demo';
import type { BrowserDemo, ServedRequest } from './support/browser-demo';
import { describeInChromium, launchChromium } from './support/chromium';
import { logInThroughPage, meFromPage, openDemo, PageProblems, reportCspViolations, stateOf } from './support/page-kit';

const PASSWORD = 'correct horse battery';
const ATTACKER_PASSWORD = 'chosen by the attacker';

/**
 * What an attacker page does to the victim's origin (`target`). Forms submit themselves
 * as the page loads (a top-level cross-origin navigation: SameSite=Lax cookies go with it
 * when the attacker is same-site); fetches send credentials and report in `document.title`.
 */
interface Attack {
  label: string;
  /** The path attacked. */
  path: string;
  html(target: string): string;
  /**
   * `sent`: the browser sends it (a form navigation, a no-cors "simple" request), so the
   * server must refuse it; `preflighted`: the browser first asks with a CORS preflight,
   * which the server does not allow for the attacker's origin, so the POST never leaves.
   */
  reaches: 'sent' | 'preflighted';
  /** A form the page submits (a navigation), or a script's fetch (its outcome in the title). */
  via: 'form' | 'fetch';
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function autoForm(action: string, fields: Record<string, string>, enctype = 'application/x-www-form-urlencoded'): string {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`)
    .join('');
  return `<!doctype html><form method="POST" action="${escape(action)}" enctype="${enctype}">${inputs}</form><script>document.forms[0].submit()</script>`;
}

function fetchPage(url: string, init: string): string {
  // The outcome goes to the title: `status:<n>` when the page could read an answer, `opaque` for no-cors, `blocked:<error>` when the browser refused.
  return `<!doctype html><title>pending</title><script>
fetch(${JSON.stringify(url)}, ${init}).then(
  (r) => { document.title = r.type === 'opaque' ? 'opaque' : 'status:' + r.status; },
  (e) => { document.title = 'blocked:' + e.name; });
</script>`;
}

const PASSWORD_BODY = { currentPassword: PASSWORD, newPassword: ATTACKER_PASSWORD };

const ATTACKS: Attack[] = [
  {
    label: 'form POST /auth/logout-all (urlencoded)',
    path: '/auth/logout-all',
    reaches: 'sent',
    via: 'form',
    html: (target) => autoForm(`${target}/auth/logout-all`, { keepCurrent: 'false' }),
  },
  {
    label: 'form POST /api/me/password (urlencoded)',
    path: '/api/me/password',
    reaches: 'sent',
    via: 'form',
    html: (target) => autoForm(`${target}/api/me/password`, PASSWORD_BODY),
  },
  {
    // The classic JSON-in-text/plain trick: the body reads `{"currentPassword":...,"x":"="}`.
    label: 'form POST /api/me/password (text/plain, JSON-shaped)',
    path: '/api/me/password',
    reaches: 'sent',
    via: 'form',
    html: (target) =>
      autoForm(`${target}/api/me/password`, { [`${JSON.stringify(PASSWORD_BODY).slice(0, -1)},"x":"`]: '"}' }, 'text/plain'),
  },
  {
    label: 'fetch POST /api/me/password (JSON, credentials: include)',
    path: '/api/me/password',
    reaches: 'preflighted',
    via: 'fetch',
    html: (target) =>
      fetchPage(
        `${target}/api/me/password`,
        `{ method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: ${JSON.stringify(JSON.stringify(PASSWORD_BODY))} }`,
      ),
  },
  {
    label: 'fetch POST /auth/logout-all (JSON, credentials: include)',
    path: '/auth/logout-all',
    reaches: 'preflighted',
    via: 'fetch',
    html: (target) =>
      fetchPage(`${target}/auth/logout-all`, `{ method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body: '{}' }`),
  },
  {
    // A "simple" request: no preflight, so it reaches the server with the cookies; only the server can refuse it.
    label: 'fetch POST /api/me/password (text/plain, no-cors, credentials: include)',
    path: '/api/me/password',
    reaches: 'sent',
    via: 'fetch',
    html: (target) =>
      fetchPage(
        `${target}/api/me/password`,
        `{ method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'text/plain' }, body: ${JSON.stringify(JSON.stringify(PASSWORD_BODY))} }`,
      ),
  },
  {
    label: 'fetch POST /auth/logout-all (urlencoded, no-cors, credentials: include)',
    path: '/auth/logout-all',
    reaches: 'sent',
    via: 'fetch',
    html: (target) =>
      fetchPage(
        `${target}/auth/logout-all`,
        `{ method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'keepCurrent=false' }`,
      ),
  },
];

/** The attacker's web server: answers every request with the page of the attack named in the query. */
async function startAttacker(target: string): Promise<{ port: number; server: Server }> {
  const server = createServer((req, res) => {
    const index = Number(new URL(req.url ?? '/', 'http://attacker').searchParams.get('attack'));
    const attack = ATTACKS[index];
    if (!attack) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(attack.html(target));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server };
}

describeInChromium('an attacker page on another origin cannot make the signed-in browser change anything (Chromium, real PostgreSQL)', () => {
  let demo: BrowserDemo;
  let browser: Browser;
  let attacker: { port: number; server: Server };
  let context: BrowserContext;
  let victim: Page;
  let email: string;
  let sessionId: string;
  let hash: string;
  const problems = new PageProblems();

  beforeAll(async () => {
    demo = await startBrowserDemo();
    browser = await launchChromium();
    attacker = await startAttacker(demo.url);
    email = uniqueEmail('victim');
    await registerUser(demo, email, PASSWORD);
    context = await browser.newContext();
    await reportCspViolations(context);
    victim = await openDemo(context, demo, problems, 'victim');
    await logInThroughPage(victim, email, PASSWORD);
    const me = await meFromPage(victim);
    expect(me.status).toBe(200);
    sessionId = me.body.sessionId ?? '';
    hash = await passwordHash(demo, email);
  });

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await new Promise((resolve) => attacker?.server.close(resolve));
    await demo?.close();
  });

  afterEach(() => problems.expectNone());

  // Same site, other origin: the browser sends the Lax and Strict cookies, so only the
  // CSRF token and the Origin check stand in the way (OWASP CSRF Prevention Cheat Sheet:
  // "Synchronizer Token Pattern", "Verifying Origin With Standard Headers"): 403 csrf_failed.
  // Cross site: SameSite keeps the session cookies home (RFC 6265bis, "SameSite" cookies),
  // so the request arrives anonymous: 401 token_missing (or a CSRF refusal, whichever the
  // server checks first); either way nothing changes.
  const origins = [
    { site: 'same-site (another port on localhost)', host: 'localhost', sameSite: true },
    { site: 'cross-site (127.0.0.1)', host: '127.0.0.1', sameSite: false },
  ];

  for (const { site, host, sameSite } of origins) {
    for (const [index, attack] of ATTACKS.entries()) {
      test(`${site}: ${attack.label}`, async () => {
        const origin = `http://${host}:${attacker.port}`;
        const before = demo.served.length;
        const page = await context.newPage();
        try {
          const refusals = sameSite ? [{ status: 403, code: 'csrf_failed' }] : [{ status: 401, code: 'token_missing' }, { status: 403, code: 'csrf_failed' }];
          if (attack.via === 'form') {
            // The form navigates the attacker's tab to the victim's origin: read that answer.
            const answer = page.waitForResponse((response) => new URL(response.url()).pathname === attack.path, { timeout: 20_000 });
            await page.goto(`${origin}/?attack=${index}`);
            const response = await answer;
            expect(refusals).toContainEqual({ status: response.status(), code: ((await response.json()) as { code?: string }).code });
          } else {
            await page.goto(`${origin}/?attack=${index}`);
            await page.waitForFunction(() => document.title !== 'pending', undefined, { timeout: 20_000 });
            // Preflighted: the fetch failed in the attacker's page. No-cors: sent (checked on the
            // server below), its answer opaque to the attacker, or withheld as a network error
            // by Chromium's Opaque Response Blocking (a JSON answer to a no-cors request).
            expect(await page.title()).toMatch(attack.reaches === 'sent' ? /^(opaque|blocked:TypeError)$/ : /^blocked:TypeError$/);
          }
        } finally {
          await page.close();
        }
        const fromAttacker = demo.served.slice(before).filter((entry: ServedRequest) => entry.url.startsWith(attack.path));
        const posts = fromAttacker.filter((entry) => entry.method === 'POST');
        if (attack.reaches === 'sent') {
          // It reached the server once, from the attacker's origin, with the session cookie
          // exactly when same-site (so the same-site case really tests the CSRF defence).
          expect(
            posts.map((entry) => ({ origin: entry.origin, withSession: entry.cookies.includes('__Host-tessera-at'), refused: entry.status === 403 || (!sameSite && entry.status === 401) })),
          ).toEqual([{ origin, withSession: sameSite, refused: true }]);
        } else {
          expect(posts).toEqual([]);
          expect(fromAttacker.map((entry) => ({ method: entry.method, origin: entry.origin }))).toEqual([{ method: 'OPTIONS', origin }]);
        }

        // The victim is untouched: still signed in, the session lives, the password is the same.
        expect(await stateOf(victim)).toBe('signed-in');
        expect(await meFromPage(victim)).toMatchObject({ status: 200, body: { email, sessionId } });
        expect((await sessionRow(demo, sessionId))?.revokedAt).toBeNull();
        expect(await passwordHash(demo, email)).toBe(hash);
      });
    }
  }

  // Once, after every attack, not per attack: failed logins count towards LOGIN_RATE_LIMIT.
  test('after every attack the victim still logs in with the password it chose, not the attacker\'s', async () => {
    expect(await canLogIn(demo, email, PASSWORD)).toBe(true);
    expect(await canLogIn(demo, email, ATTACKER_PASSWORD)).toBe(false);
  });
});
