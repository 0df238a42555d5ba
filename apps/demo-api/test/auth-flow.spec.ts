import request from 'supertest';
import { CookieClient, PAGE_ORIGIN } from './support/cookie-client';
import { bearerLogin, bearerRefresh, parseSetCookies, startDemoApp, uniqueEmail, REAL_BACKENDS } from './support/demo-app';
import type { DemoApp, SetCookie } from './support/demo-app';
import { bearerLoginBody } from '@tessera/testing-support';

const PASSWORD = 'correct horse battery';
const ACCESS = '__Host-tessera-at';
const REFRESH = '__Secure-tessera-rt';
const CSRF = '__Host-tessera-csrf';

/** The whole body of a 401 with `code`. */
function unauthorized(code: string) {
  return { statusCode: 401, error: 'Unauthorized', message: expect.any(String), code };
}

function cookieHeader(cookies: SetCookie[]): string {
  return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
}

function byName(cookies: SetCookie[], name: string): SetCookie {
  const cookie = cookies.find((candidate) => candidate.name === name);
  if (!cookie) throw new Error(`no ${name} cookie in ${cookies.map((c) => c.name).join(', ')}`);
  return cookie;
}

/** An unsafe cookie-mode request sent by hand: these cookies plus the CSRF cookie, echoed in `X-CSRF-Token`. */
function withCsrf(test: request.Test, csrf: SetCookie, cookies: SetCookie[]): request.Test {
  return test.set('Cookie', cookieHeader([...cookies, csrf])).set('X-CSRF-Token', csrf.value);
}

/** The CSRF cookie as the contract flags it: readable by the page (not HttpOnly), Secure, Lax, Path=/. */
function expectCsrfCookie(cookie: SetCookie): void {
  expect(cookie.name).toBe(CSRF);
  expect(cookie.attributes).toMatchObject({ secure: true, samesite: 'Lax', path: '/' });
  expect(cookie.attributes).not.toHaveProperty('httponly');
  expect(cookie.attributes).not.toHaveProperty('domain');
}

describe(`demo-api: register → login → me → refresh → logout over HTTP (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp({ ALLOWED_ORIGINS: PAGE_ORIGIN });
  });

  afterAll(async () => {
    await demo.close();
  });

  /** Registers as a non-browser client would (bearer mode needs no CSRF token). */
  async function register(email = uniqueEmail()): Promise<string> {
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
    return email;
  }

  describe('cookie mode', () => {
    it('runs the whole flow with cookies exactly as the contract names and flags them', async () => {
      const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
      const email = uniqueEmail('cookie');
      const registered = await browser.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      expect(registered.body).toEqual({ id: expect.any(String), email });

      const login = await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      expect(login.headers['cache-control']).toBe('no-store');
      expect(login.body).toEqual({
        user: { id: registered.body.id, email, roles: ['user'] },
        session: { id: expect.any(String), expiresAt: expect.any(String) },
        csrfToken: expect.any(String),
        expiresIn: expect.any(Number),
      });
      expect(login.body).not.toHaveProperty('accessToken');
      expect(login.body).not.toHaveProperty('refreshToken');

      const cookies = parseSetCookies(login.headers['set-cookie']);
      expect(cookies.map((cookie) => cookie.name).sort()).toEqual([ACCESS, CSRF, REFRESH]);
      const access = byName(cookies, ACCESS);
      expect(access.attributes).toMatchObject({ httponly: true, secure: true, samesite: 'Lax', path: '/' });
      expect(access.attributes).not.toHaveProperty('domain');
      const refresh = byName(cookies, REFRESH);
      expect(refresh.attributes).toMatchObject({ httponly: true, secure: true, samesite: 'Strict', path: '/auth' });
      const csrf = byName(cookies, CSRF);
      expectCsrfCookie(csrf);
      expect(csrf.value).toBe(login.body.csrfToken);

      const me = await request(demo.url).get('/api/me').set('Cookie', cookieHeader([access])).expect(200);
      expect(me.body).toEqual({ id: registered.body.id, email, roles: ['user'], sessionId: login.body.session.id });

      // The page's refresh: the refresh cookie (its Path is /auth) and the CSRF token, echoed.
      const refreshed = await withCsrf(request(demo.url).post('/auth/refresh'), csrf, [refresh]).expect(200);
      expect(refreshed.headers['cache-control']).toBe('no-store');
      expect(refreshed.body).toEqual({
        user: { id: registered.body.id, email, roles: ['user'] },
        session: { id: login.body.session.id, expiresAt: expect.any(String) },
        csrfToken: expect.any(String),
        expiresIn: expect.any(Number),
      });
      const rotated = parseSetCookies(refreshed.headers['set-cookie']);
      expect(rotated.map((cookie) => cookie.name).sort()).toEqual([ACCESS, CSRF, REFRESH]);
      const newRefresh = byName(rotated, REFRESH);
      const newAccess = byName(rotated, ACCESS);
      const newCsrf = byName(rotated, CSRF);
      expect(newRefresh.value).not.toBe(refresh.value);
      expectCsrfCookie(newCsrf);
      expect(newCsrf.value).toBe(refreshed.body.csrfToken);
      expect(newCsrf.value).not.toBe(csrf.value);

      // The old refresh token starts no second chain: inside the grace window (another tab,
      // a retry) it yields the same successor; after it, it is a reuse (refresh-security.spec).
      const repeat = await withCsrf(request(demo.url).post('/auth/refresh'), csrf, [refresh]).expect(200);
      expect(byName(parseSetCookies(repeat.headers['set-cookie']), REFRESH).value).toBe(newRefresh.value);
      await request(demo.url).get('/api/me').set('Cookie', cookieHeader([newAccess])).expect(200);

      const logout = await withCsrf(request(demo.url).post('/auth/logout'), newCsrf, [newAccess, newRefresh]).expect(204);
      expect(logout.headers['clear-site-data']).toBe('"cookies"');
      expect(logout.headers['cache-control']).toBe('no-store');
      const cleared = parseSetCookies(logout.headers['set-cookie']);
      for (const name of [ACCESS, REFRESH, CSRF]) {
        const cookie = byName(cleared, name);
        expect(cookie.value).toBe('');
        expect(new Date(String(cookie.attributes.expires)).getTime()).toBeLessThan(Date.now());
      }
      expect(byName(cleared, CSRF).attributes).toMatchObject({ path: '/' }); // the Path it was set with, or it stays

      // After logout: the refresh token fails and the access token is rejected.
      const afterRefresh = await withCsrf(request(demo.url).post('/auth/refresh'), newCsrf, [newRefresh]).expect(401);
      expect(afterRefresh.body.code).toBe('invalid_refresh_token');
      const afterMe = await request(demo.url).get('/api/me').set('Cookie', cookieHeader([newAccess])).expect(401);
      expect(afterMe.body).toEqual(unauthorized('session_revoked'));
    });

    it('creates a new session at login even when the request carries one (no fixation)', async () => {
      const email = await register();
      const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
      const first = await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      expect(browser.cookieNames()).toEqual([ACCESS, CSRF, REFRESH]);
      const second = await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      expect(second.body.session.id).not.toBe(first.body.session.id);
      const me = await browser.get('/api/me').expect(200);
      expect(me.body.sessionId).toBe(second.body.session.id);
    });

    it('refuses a refresh without a refresh cookie', async () => {
      const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
      const response = await browser.post('/auth/refresh').expect(401);
      expect(response.body.code).toBe('invalid_refresh_token');
    });
  });

  describe('bearer mode', () => {
    it('runs the whole flow with tokens in bodies and no cookies', async () => {
      const email = await register(uniqueEmail('bearer'));
      const login = await bearerLogin(demo.url, email, PASSWORD).expect(200);
      expect(login.headers['set-cookie']).toBeUndefined();
      expect(login.headers['cache-control']).toBe('no-store');
      expect(login.body).toEqual(bearerLoginBody({ id: expect.any(String), email, roles: ['user'] }));
      expect(login.body.expiresIn).toBeGreaterThan(590);
      expect(login.body.expiresIn).toBeLessThanOrEqual(600);
      const { accessToken, refreshToken } = login.body;

      const me = await request(demo.url).get('/api/me').set('Authorization', `Bearer ${accessToken}`).expect(200);
      expect(me.body).toEqual({ id: login.body.user.id, email, roles: ['user'], sessionId: login.body.session.id });

      const refreshed = await bearerRefresh(demo.url, refreshToken).expect(200);
      expect(refreshed.headers['set-cookie']).toBeUndefined();
      expect(refreshed.body.refreshToken).not.toBe(refreshToken);
      expect(refreshed.body.accessToken).not.toBe(accessToken);

      // Past the grace window the old refresh token no longer works (and, being a reuse,
      // would end the session: refresh-security.spec); the new one does.
      demo.clock.advance(11_000);
      const again = await bearerRefresh(demo.url, refreshed.body.refreshToken).expect(200);

      await request(demo.url).post('/auth/logout').set('Authorization', `Bearer ${again.body.accessToken}`).expect(204);
      for (const stale of [refreshToken, refreshed.body.refreshToken]) {
        const response = await bearerRefresh(demo.url, stale).expect(401);
        expect(response.body.code).toBe('invalid_refresh_token');
        expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      }
      const afterRefresh = await bearerRefresh(demo.url, again.body.refreshToken).expect(401);
      expect(afterRefresh.body.code).toBe('invalid_refresh_token');
      const afterMe = await request(demo.url)
        .get('/api/me')
        .set('Authorization', `Bearer ${again.body.accessToken}`)
        .expect(401);
      expect(afterMe.body.code).toBe('session_revoked');
      expect(afterMe.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      demo.clock.set(Date.now());
    });

    it('prefers the bearer header over the access cookie', async () => {
      const email = await register();
      const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
      await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      const cookies = browser.cookieHeader('/api/me');
      const invalidHeader = await request(demo.url)
        .get('/api/me')
        .set('Cookie', cookies)
        .set('Authorization', 'Bearer not.a.token')
        .expect(401);
      expect(invalidHeader.body.code).toBe('token_invalid');

      const bearer = await bearerLogin(demo.url, email, PASSWORD).expect(200);
      const me = await request(demo.url)
        .get('/api/me')
        .set('Cookie', '__Host-tessera-at=garbage')
        .set('Authorization', `Bearer ${bearer.body.accessToken}`)
        .expect(200);
      expect(me.body.sessionId).toBe(bearer.body.session.id);
    });
  });

  describe('access token failures', () => {
    let accessToken: string;

    beforeAll(async () => {
      const email = await register();
      const login = await bearerLogin(demo.url, email, PASSWORD).expect(200);
      accessToken = login.body.accessToken;
    });

    it('ignores a token in the query string', async () => {
      for (const name of ['access_token', 'token', 'accessToken', 'jwt']) {
        const response = await request(demo.url).get(`/api/me?${name}=${accessToken}`).expect(401);
        expect(response.body.code).toBe('token_missing');
      }
    });

    it('rejects a request without a token as token_missing', async () => {
      const response = await request(demo.url).get('/api/me').expect(401);
      expect(response.body).toEqual(unauthorized('token_missing'));
    });

    it('rejects an invalid token as token_invalid, with WWW-Authenticate in bearer mode', async () => {
      for (const token of ['garbage', 'a.b.c', `${accessToken}x`, '']) {
        const response = await request(demo.url).get('/api/me').set('Authorization', `Bearer ${token}`).expect(401);
        expect(response.body.code).toBe('token_invalid');
        expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      }
    });

    it('rejects a tampered token as token_invalid', async () => {
      const [header, payload, signature] = accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
      const forged = Buffer.from(JSON.stringify({ ...claims, roles: ['user', 'admin'] })).toString('base64url');
      const response = await request(demo.url)
        .get('/api/me')
        .set('Authorization', `Bearer ${header}.${forged}.${signature}`)
        .expect(401);
      expect(response.body.code).toBe('token_invalid');
    });

    it('rejects an expired token as token_expired (injected clock, no sleeping)', async () => {
      await request(demo.url).get('/api/me').set('Authorization', `Bearer ${accessToken}`).expect(200);
      demo.clock.advance(10 * 60_000 + 6_000); // the 10-minute lifetime plus the 5 s leeway
      try {
        const response = await request(demo.url).get('/api/me').set('Authorization', `Bearer ${accessToken}`).expect(401);
        expect(response.body.code).toBe('token_expired');
        expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      } finally {
        demo.clock.set(Date.now());
      }
    });
  });
});
