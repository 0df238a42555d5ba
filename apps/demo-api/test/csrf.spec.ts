import { randomBytes } from 'node:crypto';
import { CsrfService, SessionStore } from '@tessera/session';
import { Client } from 'pg';
import request from 'supertest';
import { CookieClient, CSRF_COOKIE, PAGE_ORIGIN } from './support/cookie-client';
import type { CookieClientOptions } from './support/cookie-client';
import { bearerLogin, bearerRefresh, parseSetCookies, startDemoApp, uniqueEmail, REAL_BACKENDS } from './support/demo-app';
import type { DemoApp, SetCookie } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const ACCESS_COOKIE = '__Host-tessera-at';
const REFRESH_COOKIE = '__Secure-tessera-rt';
const EVIL = 'http://evil.example';
const CSRF_FAILED = { statusCode: 403, error: 'Forbidden', message: expect.any(String), code: 'csrf_failed' };

/** A signed-in user: a browser holding a cookie-mode session, plus a second session in bearer mode. */
interface Victim {
  page: CookieClient;
  email: string;
  userId: string;
  sessionId: string;
  /** The CSRF token bound to `sessionId` (the page's cookie right after login). */
  token: string;
  /** The unbound token the page held before it logged in. */
  preLoginToken: string;
  other: { sessionId: string; accessToken: string };
}

/** What a refused request carries besides the victim's session cookies. */
interface Forgery {
  /** Value of the CSRF cookie sent; no CSRF cookie when undefined. */
  cookie?: string;
  /** Value of `X-CSRF-Token`; no header when undefined. */
  header?: string;
  /** Origin, Referer, Sec-Fetch-Site... */
  headers: Record<string, string>;
}

/** An unsafe route a forged request aims at. */
interface Target {
  label: string;
  method: 'post' | 'delete';
  path(victim: Victim): string;
  body?: object;
}

const TARGETS: Target[] = [
  { label: 'POST /auth/logout', method: 'post', path: () => '/auth/logout' },
  { label: 'POST /auth/logout-all', method: 'post', path: () => '/auth/logout-all', body: {} },
  { label: 'POST /auth/refresh', method: 'post', path: () => '/auth/refresh' },
  { label: 'DELETE /auth/sessions/:id', method: 'delete', path: (victim) => `/auth/sessions/${victim.other.sessionId}` },
  {
    label: 'POST /api/me/password',
    method: 'post',
    path: () => '/api/me/password',
    body: { currentPassword: PASSWORD, newPassword: 'chosen by the attacker' },
  },
];

const SAME_ORIGIN = { Origin: PAGE_ORIGIN };

function byName(cookies: SetCookie[], name: string): SetCookie {
  const cookie = cookies.find((candidate) => candidate.name === name);
  if (!cookie) throw new Error(`no ${name} cookie in ${cookies.map((c) => c.name).join(', ')}`);
  return cookie;
}

/** The contract's flags for the CSRF cookie: readable by the page (not HttpOnly), Secure, Lax, Path=/. */
function expectCsrfCookie(cookie: SetCookie): void {
  expect(cookie.name).toBe(CSRF_COOKIE);
  expect(cookie.attributes).toMatchObject({ secure: true, samesite: 'Lax', path: '/' });
  expect(cookie.attributes).not.toHaveProperty('httponly');
  expect(cookie.attributes).not.toHaveProperty('domain');
  expect(cookie.value.length).toBeGreaterThanOrEqual(32);
}

/** Asserts a refusal: 403 csrf_failed, and no cookie set. */
function expectRefused(response: request.Response, what: string): void {
  expect({ what, status: response.status, body: response.body }).toEqual({ what, status: 403, body: CSRF_FAILED });
  expect(response.headers['set-cookie']).toBeUndefined();
}

describe(`demo-api: CSRF protection over HTTP (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;
  let db: Client;

  beforeAll(async () => {
    demo = await startDemoApp({ ALLOWED_ORIGINS: PAGE_ORIGIN });
    db = new Client({ connectionString: process.env.TESSERA_TEST_DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await demo?.close();
  });

  afterEach(() => demo.clock.set(Date.now()));

  /** A browser on the app's page (sends the CSRF token and `Origin: PAGE_ORIGIN` on unsafe requests). */
  const browser = (options: CookieClientOptions = { origin: PAGE_ORIGIN }) => new CookieClient(demo.url, options);

  /** Registers a user and logs it in, in a browser and in bearer mode; no authenticated request yet. */
  async function signedIn(label: string, options?: CookieClientOptions): Promise<Victim> {
    const page = browser(options);
    const email = uniqueEmail(label);
    const registered = await page.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
    const preLoginToken = page.csrfToken;
    const login = await page.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    const bearer = await bearerLogin(demo.url, email, PASSWORD).expect(200);
    if (!preLoginToken || !page.csrfToken) throw new Error('the page holds no CSRF token');
    return {
      page,
      email,
      userId: registered.body.id,
      sessionId: login.body.session.id,
      token: page.csrfToken,
      preLoginToken,
      other: { sessionId: bearer.body.session.id, accessToken: bearer.body.accessToken },
    };
  }

  /**
   * The user's live sessions, every field as the session store holds them (through the
   * SessionStore, so on either backend: a revocation drops one from the list, a rotation or
   * touch changes its fields), and every column of the user row (users are in PostgreSQL).
   */
  async function snapshot(userId: string) {
    const sessions = await demo.app.get<SessionStore>(SessionStore).listByUser(userId, demo.clock.now());
    const user = await db.query('SELECT * FROM users WHERE id = $1', [userId]);
    return { sessions, user: user.rows[0] };
  }

  /** One session as the store holds it, revoked or not. */
  async function sessionRow(sessionId: string) {
    return demo.app.get<SessionStore>(SessionStore).findById(sessionId);
  }

  /** The victim's cookies for `path` with the CSRF cookie replaced by `csrf` (or left out). */
  function cookiesWith(victim: Victim, path: string, csrf: string | undefined): string {
    const cookies = victim.page
      .cookieHeader(path)
      .split('; ')
      .filter((cookie) => cookie !== '' && !cookie.startsWith(`${CSRF_COOKIE}=`));
    if (csrf !== undefined) cookies.push(`${CSRF_COOKIE}=${csrf}`);
    return cookies.join('; ');
  }

  /** Sends `target` with the victim's session cookies and what `forgery` says about the token. */
  function sendForged(target: Target, victim: Victim, forgery: Forgery): request.Test {
    const path = target.path(victim);
    const test = request(demo.url)[target.method](path)
      .set('Cookie', cookiesWith(victim, path, forgery.cookie))
      .set(forgery.headers);
    if (forgery.header !== undefined) test.set('X-CSRF-Token', forgery.header);
    return target.body ? test.send(target.body) : test;
  }

  describe('refusals on an existing session: 403 csrf_failed, and the session exactly as it was', () => {
    const cases: Array<[string, (victim: Victim) => Forgery | Promise<Forgery>]> = [
      ['no X-CSRF-Token header (cookie only)', (victim) => ({ cookie: victim.token, headers: SAME_ORIGIN })],
      ['no CSRF cookie (header only)', (victim) => ({ header: victim.token, headers: SAME_ORIGIN })],
      ['neither header nor cookie', () => ({ headers: SAME_ORIGIN })],
      [
        "another user's session token (its header and its cookie)",
        async () => {
          const other = await signedIn('csrf-other');
          return { cookie: other.token, header: other.token, headers: SAME_ORIGIN };
        },
      ],
      [
        'a header that differs from the cookie (each a valid token of this session)',
        async (victim) => {
          const second = await request(demo.url).get('/auth/csrf').set('Cookie', victim.page.cookieHeader('/auth/csrf')).expect(200);
          expect(second.body.csrfToken).not.toBe(victim.token);
          return { cookie: victim.token, header: second.body.csrfToken, headers: SAME_ORIGIN };
        },
      ],
      [
        'a forged, well-formed token in header and cookie',
        () => {
          const forged = `${randomBytes(16).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
          return { cookie: forged, header: forged, headers: SAME_ORIGIN };
        },
      ],
      ['garbage in header and cookie', () => ({ cookie: 'garbage', header: 'garbage', headers: SAME_ORIGIN })],
      [
        'a valid token from Origin http://evil.example',
        (victim) => ({ cookie: victim.token, header: victim.token, headers: { Origin: EVIL } }),
      ],
      [
        'a valid token with Sec-Fetch-Site: cross-site (and an allowed Origin)',
        (victim) => ({ cookie: victim.token, header: victim.token, headers: { ...SAME_ORIGIN, 'Sec-Fetch-Site': 'cross-site' } }),
      ],
      [
        'a valid token from the look-alike origin http://localhost:3000.evil.example',
        (victim) => ({ cookie: victim.token, header: victim.token, headers: { Origin: `${PAGE_ORIGIN}.evil.example` } }),
      ],
      ['a valid token with Origin: null', (victim) => ({ cookie: victim.token, header: victim.token, headers: { Origin: 'null' } })],
      [
        'a valid token with no Origin and a Referer from another origin',
        (victim) => ({ cookie: victim.token, header: victim.token, headers: { Referer: `${EVIL}/${PAGE_ORIGIN}/account` } }),
      ],
      [
        'the pre-login (unbound) token used after login',
        (victim) => ({ cookie: victim.preLoginToken, header: victim.preLoginToken, headers: SAME_ORIGIN }),
      ],
    ];

    it.each(cases)('refuses %s on every unsafe route', async (_label, forge) => {
      const victim = await signedIn('csrf-victim');
      const forgery = await forge(victim);
      for (const target of TARGETS) {
        const before = await snapshot(victim.userId);
        expect(before.sessions.map((row) => row.revokedAt)).toEqual([null, null]);
        expectRefused(await sendForged(target, victim, forgery), target.label);
        // Nothing revoked, rotated, touched, created or changed (the password neither).
        expect(await snapshot(victim.userId)).toEqual(before);
      }

      // The victim's cookies still work, and so does its other session.
      const me = await victim.page.get('/api/me').expect(200);
      expect(me.body.sessionId).toBe(victim.sessionId);
      await request(demo.url).get('/api/me').set('Authorization', `Bearer ${victim.other.accessToken}`).expect(200);
      // Control: the same requests, sent by the page with its own token, pass.
      await victim.page.post('/auth/refresh').expect(200);
      await victim.page.post('/auth/logout').expect(204);
    });

    it('does not let X-Auth-Mode: bearer exempt a request authenticated by cookies', async () => {
      const victim = await signedIn('csrf-mode');
      const forgery: Forgery = { cookie: victim.token, headers: { ...SAME_ORIGIN, 'X-Auth-Mode': 'bearer' } };
      for (const target of TARGETS.filter((candidate) => candidate.label !== 'POST /auth/refresh')) {
        const before = await snapshot(victim.userId);
        expectRefused(await sendForged(target, victim, forgery), target.label);
        expect(await snapshot(victim.userId)).toEqual(before);
      }
      // A bearer-mode refresh needs no token, but it reads the body and never the refresh cookie.
      const before = await snapshot(victim.userId);
      const refresh = await sendForged(TARGETS[2], victim, forgery).expect(401);
      expect(refresh.body.code).toBe('invalid_refresh_token');
      expect(refresh.headers['set-cookie']).toBeUndefined();
      expect(await snapshot(victim.userId)).toEqual(before);
      await victim.page.get('/api/me').expect(200);
    });

    // Regression: CsrfGuard used to take any `Authorization: Bearer <anything>` header on the
    // public routes as bearer mode, while the handlers (X-Auth-Mode only) still ran in cookie
    // mode and read/set cookies. Either outcome passes: refused (403), or truly bearer mode.
    it('does not let a bare Authorization: Bearer header turn a cross-site cookie-mode refresh or login into bearer mode', async () => {
      const victim = await signedIn('csrf-authz');
      const crossSite = { Origin: EVIL, 'Sec-Fetch-Site': 'cross-site', Authorization: 'Bearer not-a-token' };
      const before = await snapshot(victim.userId);
      const refresh = await sendForged(TARGETS[2], victim, { headers: crossSite });
      expect([401, 403]).toContain(refresh.status); // 403 csrf_failed, or a bearer refresh without a body token
      expect(refresh.headers['set-cookie']).toBeUndefined();
      expect(await snapshot(victim.userId)).toEqual(before);

      const login = await request(demo.url).post('/auth/login').set(crossSite).send({ email: victim.email, password: PASSWORD });
      expect(login.headers['set-cookie']).toBeUndefined();
    });
  });

  describe('refusals before login', () => {
    it('refuses a cookie-mode login without a valid token or from another origin (login CSRF): no session, no cookie', async () => {
      const page = browser();
      const email = uniqueEmail('csrf-login');
      const user = (await page.post('/auth/register').send({ email, password: PASSWORD }).expect(201)).body;
      const token = String(page.csrfToken);
      const attempts: Array<[string, Forgery]> = [
        ['no header, no cookie', { headers: SAME_ORIGIN }],
        ['cookie only', { cookie: token, headers: SAME_ORIGIN }],
        ['header only', { header: token, headers: SAME_ORIGIN }],
        ['garbage', { cookie: 'garbage', header: 'garbage', headers: SAME_ORIGIN }],
        ['a valid token from http://evil.example', { cookie: token, header: token, headers: { Origin: EVIL } }],
        ['a valid token, cross-site', { cookie: token, header: token, headers: { 'Sec-Fetch-Site': 'cross-site' } }],
      ];
      for (const [label, forgery] of attempts) {
        const test = request(demo.url).post('/auth/login').set(forgery.headers);
        if (forgery.cookie !== undefined) test.set('Cookie', `${CSRF_COOKIE}=${forgery.cookie}`);
        if (forgery.header !== undefined) test.set('X-CSRF-Token', forgery.header);
        expectRefused(await test.send({ email, password: PASSWORD }), label);
      }
      expect((await snapshot(user.id)).sessions).toEqual([]);

      // Control: with its token, the page logs in.
      await page.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      expect((await snapshot(user.id)).sessions).toHaveLength(1);
    });

    it('refuses a cookie-mode register without a token, creating no user', async () => {
      const email = uniqueEmail('csrf-register');
      const token = (await request(demo.url).get('/auth/csrf').expect(200)).body.csrfToken as string;
      expectRefused(
        await request(demo.url).post('/auth/register').set(SAME_ORIGIN).send({ email, password: PASSWORD }),
        'no token',
      );
      expectRefused(
        await request(demo.url)
          .post('/auth/register')
          .set({ Origin: EVIL, Cookie: `${CSRF_COOKIE}=${token}`, 'X-CSRF-Token': token })
          .send({ email, password: PASSWORD }),
        'from another origin',
      );
      expect((await db.query('SELECT count(*)::int AS n FROM users WHERE email = $1', [email])).rows[0].n).toBe(0);

      // Control: the same token, from the page's origin, registers (so the email was free).
      await request(demo.url)
        .post('/auth/register')
        .set({ ...SAME_ORIGIN, Cookie: `${CSRF_COOKIE}=${token}`, 'X-CSRF-Token': token })
        .send({ email, password: PASSWORD })
        .expect(201);
    });
  });

  describe('requests that pass', () => {
    it('lets bearer-mode requests through without any token', async () => {
      const email = uniqueEmail('csrf-bearer');
      await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
      const login = await bearerLogin(demo.url, email, PASSWORD).expect(200);
      expect(login.headers['set-cookie']).toBeUndefined();
      const refreshed = await bearerRefresh(demo.url, login.body.refreshToken).expect(200);
      expect(refreshed.headers['set-cookie']).toBeUndefined();
      expect(await sessionRow(login.body.session.id)).toMatchObject({ generation: 1, revokedAt: null });
      await request(demo.url).post('/auth/logout').set('Authorization', `Bearer ${refreshed.body.accessToken}`).expect(204);
      expect(await sessionRow(login.body.session.id)).toMatchObject({ revokedReason: 'logout' });
    });

    it('lets GET requests through without a token', async () => {
      const victim = await signedIn('csrf-get');
      const cookies = cookiesWith(victim, '/auth/sessions', undefined);
      const me = await request(demo.url).get('/api/me').set('Cookie', cookies).expect(200);
      expect(me.body.sessionId).toBe(victim.sessionId);
      await request(demo.url).get('/auth/sessions').set('Cookie', cookies).expect(200);
    });

    it.each<[string, Record<string, string>]>([
      ['an allowed Origin', SAME_ORIGIN],
      ['neither Origin nor Referer', {}],
      ['no Origin and a Referer from an allowed origin', { Referer: `${PAGE_ORIGIN}/account` }],
      ['an allowed Origin and Sec-Fetch-Site: same-origin', { ...SAME_ORIGIN, 'Sec-Fetch-Site': 'same-origin' }],
    ])('accepts the correct token with %s', async (_label, headers) => {
      const victim = await signedIn('csrf-ok', {}); // a page that sends no Origin of its own
      await victim.page.post('/auth/refresh').set(headers).expect(200);
      expect(await sessionRow(victim.sessionId)).toMatchObject({ generation: 1, revokedAt: null });
      await victim.page.post('/auth/logout').set(headers).expect(204);
      expect(await sessionRow(victim.sessionId)).toMatchObject({ revokedReason: 'logout' });
    });
  });

  describe('the token', () => {
    it('GET /auth/csrf binds to a session only for whoever holds its current refresh token', async () => {
      const page = browser();
      const email = uniqueEmail('csrf-bind');
      await page.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      const login = await page.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      const sid: string = login.body.session.id;
      const refreshToken = String(page.cookie(REFRESH_COOKIE));
      const held = `${CSRF_COOKIE}=${page.csrfToken}`;
      const csrf = demo.app.get(CsrfService);
      // Someone who merely knows the (public) session id gets an unbound token.
      const forged = `${sid}.0.${randomBytes(32).toString('base64url')}`;
      const guessed = await request(demo.url).get('/auth/csrf').set('Cookie', `${REFRESH_COOKIE}=${forged}; ${held}`).expect(200);
      expect(csrf.isValid(guessed.body.csrfToken, sid)).toBe(false);
      expect(csrf.isValid(guessed.body.csrfToken, undefined)).toBe(true);
      // The holder of the real refresh token (whose access cookie has expired) gets one bound to the session.
      const owner = await request(demo.url).get('/auth/csrf').set('Cookie', `${REFRESH_COOKIE}=${refreshToken}; ${held}`).expect(200);
      expect(csrf.isValid(owner.body.csrfToken, sid)).toBe(true);
    });

    it('GET /auth/csrf answers { csrfToken } equal to the cookie it sets, with Cache-Control: no-store', async () => {
      const response = await request(demo.url).get('/auth/csrf').expect(200);
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual({ csrfToken: expect.any(String) });
      const cookies = parseSetCookies(response.headers['set-cookie']);
      expect(cookies.map((cookie) => cookie.name)).toEqual([CSRF_COOKIE]);
      expectCsrfCookie(cookies[0]);
      expect(cookies[0].value).toBe(response.body.csrfToken);
    });

    it('is bound to the session at login: login returns a new one, and the pre-login token no longer passes', async () => {
      const page = browser();
      const email = uniqueEmail('csrf-bind');
      await page.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      const preLogin = String(page.csrfToken);
      const login = await page.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      expect(login.body).toEqual({
        user: { id: expect.any(String), email, roles: ['user'] },
        session: { id: expect.any(String), expiresAt: expect.any(String) },
        csrfToken: page.csrfToken,
        expiresIn: expect.any(Number),
      });
      expect(login.body.csrfToken).not.toBe(preLogin);
      expectCsrfCookie(byName(parseSetCookies(login.headers['set-cookie']), CSRF_COOKIE));

      const before = await sessionRow(login.body.session.id);
      const stale = await page
        .post('/auth/logout')
        .set('Cookie', page.cookieHeader('/auth/logout').replace(String(page.csrfToken), preLogin))
        .set('X-CSRF-Token', preLogin);
      expectRefused(stale, 'logout with the pre-login token');
      expect(await sessionRow(login.body.session.id)).toEqual(before);
      await page.post('/auth/logout').expect(204);
    });

    it('GET /auth/csrf while signed in gives a token bound to that session, and to no other', async () => {
      const victim = await signedIn('csrf-fetch');
      const other = await signedIn('csrf-fetch-other');
      const token = await victim.page.fetchCsrfToken();
      expect(token).not.toBe(victim.token);

      const before = await snapshot(other.userId);
      expectRefused(await sendForged(TARGETS[0], other, { cookie: token, header: token, headers: SAME_ORIGIN }), 'on another session');
      expect(await snapshot(other.userId)).toEqual(before);
      await victim.page.post('/auth/logout').expect(204);
    });

    it('is re-issued at refresh, in the body and the cookie', async () => {
      const victim = await signedIn('csrf-refresh');
      const refreshed = await victim.page.post('/auth/refresh').expect(200);
      expect(refreshed.body).toEqual({
        user: { id: victim.userId, email: victim.email, roles: ['user'] },
        session: { id: victim.sessionId, expiresAt: expect.any(String) },
        csrfToken: expect.any(String),
        expiresIn: expect.any(Number),
      });
      const cookie = byName(parseSetCookies(refreshed.headers['set-cookie']), CSRF_COOKIE);
      expectCsrfCookie(cookie);
      expect(cookie.value).toBe(refreshed.body.csrfToken);
      expect(cookie.value).not.toBe(victim.token);
      await victim.page.post('/auth/logout').expect(204); // with the new token
    });

    it('still passes a refresh once the access token has expired (it is bound to the refresh cookie\'s session)', async () => {
      const victim = await signedIn('csrf-expired');
      demo.clock.advance(10 * 60_000 + 6_000); // the access token's 10 minutes and the 5 s leeway
      expect((await victim.page.get('/api/me').expect(401)).body.code).toBe('token_expired');
      // The browser still sends the expired access cookie...
      await victim.page.post('/auth/refresh').expect(200);
      // ...or has dropped it already (its Max-Age ran out).
      demo.clock.advance(10 * 60_000 + 6_000);
      victim.page.deleteCookie(ACCESS_COOKIE);
      expect(victim.page.cookieNames()).toEqual([CSRF_COOKIE, REFRESH_COOKIE]);
      await victim.page.post('/auth/refresh').expect(200);
      expect(await sessionRow(victim.sessionId)).toMatchObject({ generation: 2, revokedAt: null });
    });

    it('is cleared by logout, with the session cookies and Clear-Site-Data', async () => {
      const victim = await signedIn('csrf-logout');
      const logout = await victim.page.post('/auth/logout').expect(204);
      expect(logout.headers['clear-site-data']).toBe('"cookies"');
      const cleared = byName(parseSetCookies(logout.headers['set-cookie']), CSRF_COOKIE);
      expect(cleared.value).toBe('');
      expect(new Date(String(cleared.attributes.expires)).getTime()).toBeLessThan(Date.now());
      // A browser only applies the deletion with the Path it was set with, and Secure for a __Host- name.
      expect(cleared.attributes).toMatchObject({ path: '/', secure: true });
      expect(victim.page.cookieNames()).toEqual([]);
    });
  });
});

describe('demo-api: CSRF with COOKIE_SECURE=false', () => {
  it('uses the cookie tessera-csrf, without Secure, and ignores a __Host- one', async () => {
    const demo = await startDemoApp({ COOKIE_SECURE: 'false', ALLOWED_ORIGINS: PAGE_ORIGIN });
    try {
      const csrf = await request(demo.url).get('/auth/csrf').expect(200);
      const cookies = parseSetCookies(csrf.headers['set-cookie']);
      expect(cookies.map((cookie) => cookie.name)).toEqual(['tessera-csrf']);
      expect(cookies[0].value).toBe(csrf.body.csrfToken);
      expect(cookies[0].attributes).toMatchObject({ samesite: 'Lax', path: '/' });
      expect(cookies[0].attributes).not.toHaveProperty('secure');
      expect(cookies[0].attributes).not.toHaveProperty('httponly');

      const page = new CookieClient(demo.url, { origin: PAGE_ORIGIN, csrfCookie: 'tessera-csrf' });
      const email = uniqueEmail('csrf-insecure');
      await page.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      const login = await page.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      expect(login.body.csrfToken).toBe(page.cookie('tessera-csrf'));
      expect(page.cookie(CSRF_COOKIE)).toBeUndefined();

      const token = String(page.csrfToken);
      const renamed = page.cookieHeader('/auth/logout').replace(`tessera-csrf=${token}`, `${CSRF_COOKIE}=${token}`);
      expectRefused(await page.post('/auth/logout').set('Cookie', renamed), `the token in ${CSRF_COOKIE}`);

      const logout = await page.post('/auth/logout').expect(204);
      expect(byName(parseSetCookies(logout.headers['set-cookie']), 'tessera-csrf').value).toBe('');
    } finally {
      await demo.close();
    }
  });
});
