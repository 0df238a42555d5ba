import { CsrfService, SessionEvents, SessionStore } from '@tessera/session';
import type { SessionEvent } from '@tessera/session';
import request from 'supertest';
import { CookieClient, CSRF_COOKIE, PAGE_ORIGIN } from './support/cookie-client';
import { startDemoApp, uniqueEmail, REAL_BACKENDS } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const ACCESS_COOKIE = '__Host-tessera-at';
const REFRESH_COOKIE = '__Secure-tessera-rt';
const CONFLICT = { statusCode: 401, error: 'Unauthorized', message: expect.any(String), code: 'cookie_conflict' };

/**
 * Issue 12, finding 4: a sibling subdomain can set `__Secure-tessera-rt` with `Domain=`
 * and a longer `Path=/auth/refresh`; the browser then sends it first. The refresh took
 * the first cookie while CSRF was checked against the session of the access cookie, so
 * the victim's browser was refreshed into the attacker's session (login CSRF), and
 * `GET /auth/csrf` minted tokens bound to the tossed session.
 */
describe(`finding 4: tossed cookies cannot swap sessions (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;
  const conflicts: SessionEvent[] = [];

  beforeAll(async () => {
    demo = await startDemoApp({ ALLOWED_ORIGINS: PAGE_ORIGIN });
    demo.app.get(SessionEvents).subscribe((event) => {
      if (event.type === 'cookie.conflict') conflicts.push(event);
    });
  });

  afterAll(async () => {
    await demo?.close();
  });

  /** A browser signed in in cookie mode. */
  async function signedIn(label: string) {
    const page = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
    const email = uniqueEmail(label);
    await page.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
    const login = await page.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    return {
      page,
      sessionId: login.body.session.id as string,
      access: String(page.cookie(ACCESS_COOKIE)),
      refresh: String(page.cookie(REFRESH_COOKIE)),
      csrf: String(page.csrfToken),
    };
  }

  /** A cookie-mode refresh from the page's origin, carrying `cookie` and the CSRF token `csrf`. */
  function refreshFromPage(cookie: string, csrf: string) {
    return request(demo.url).post('/auth/refresh').set('Cookie', cookie).set('Origin', PAGE_ORIGIN).set('X-CSRF-Token', csrf);
  }

  /** The session as the store holds it (either backend). */
  async function stored(sessionId: string) {
    const session = await demo.app.get<SessionStore>(SessionStore).findById(sessionId);
    if (!session) throw new Error(`session ${sessionId} is not in the store`);
    return session;
  }

  async function generation(sessionId: string): Promise<number> {
    return (await stored(sessionId)).generation;
  }

  it('refuses a refresh that carries a tossed refresh cookie before the victim’s own (cookie_conflict), and rotates neither session', async () => {
    const victim = await signedIn('toss-victim');
    const attacker = await signedIn('toss-attacker');
    const before = conflicts.length;
    // What the browser sends: the tossed cookie (longer path) first, then the victim's.
    const cookie = `${REFRESH_COOKIE}=${attacker.refresh}; ${ACCESS_COOKIE}=${victim.access}; ${REFRESH_COOKIE}=${victim.refresh}; ${CSRF_COOKIE}=${victim.csrf}`;
    const response = await refreshFromPage(cookie, victim.csrf).expect(401);
    expect(response.body).toEqual(CONFLICT);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(await generation(attacker.sessionId)).toBe(0);
    expect(await generation(victim.sessionId)).toBe(0);
    expect(conflicts.length).toBe(before + 1);
    expect(conflicts[conflicts.length - 1]).toMatchObject({ reason: 'duplicate_cookie', userId: null, sessionFingerprint: null });
  });

  it('refuses a refresh whose only refresh cookie names another session than the access cookie', async () => {
    const victim = await signedIn('toss-victim');
    const attacker = await signedIn('toss-attacker');
    const cookie = `${REFRESH_COOKIE}=${attacker.refresh}; ${ACCESS_COOKIE}=${victim.access}; ${CSRF_COOKIE}=${victim.csrf}`;
    const response = await refreshFromPage(cookie, victim.csrf).expect(401);
    expect(response.body).toEqual(CONFLICT);
    expect(await generation(attacker.sessionId)).toBe(0);
    expect(conflicts[conflicts.length - 1]).toMatchObject({ reason: 'session_mismatch' });
  });

  it('a signed-out browser holding only a tossed refresh cookie gets no token bound to it, and cannot be refreshed into it', async () => {
    const attacker = await signedIn('toss-attacker');
    const page = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
    const unbound = await page.fetchCsrfToken();
    const csrf = demo.app.get(CsrfService);
    const cookie = `${REFRESH_COOKIE}=${attacker.refresh}; ${CSRF_COOKIE}=${unbound}`;
    const minted = await request(demo.url).get('/auth/csrf').set('Cookie', cookie).expect(200);
    expect(csrf.isValid(minted.body.csrfToken, attacker.sessionId)).toBe(false);
    const token: string = minted.body.csrfToken;
    const refresh = await refreshFromPage(`${REFRESH_COOKIE}=${attacker.refresh}; ${CSRF_COOKIE}=${token}`, token).expect(403);
    expect(refresh.body.code).toBe('csrf_failed');
    expect(await generation(attacker.sessionId)).toBe(0);
  });

  it('GET /auth/csrf refuses a duplicated session cookie instead of binding to the first', async () => {
    const victim = await signedIn('toss-victim');
    const attacker = await signedIn('toss-attacker');
    for (const cookie of [
      `${REFRESH_COOKIE}=${attacker.refresh}; ${REFRESH_COOKIE}=${victim.refresh}; ${CSRF_COOKIE}=${victim.csrf}`,
      `${ACCESS_COOKIE}=${attacker.access}; ${ACCESS_COOKIE}=${victim.access}`,
    ]) {
      const response = await request(demo.url).get('/auth/csrf').set('Cookie', cookie).expect(401);
      expect(response.body).toEqual(CONFLICT);
      expect(response.headers['set-cookie']).toBeUndefined();
    }
  });

  it('refuses an authenticated request with a duplicated access or CSRF cookie', async () => {
    const victim = await signedIn('toss-victim');
    const attacker = await signedIn('toss-attacker');
    const me = await request(demo.url)
      .get('/api/me')
      .set('Cookie', `${ACCESS_COOKIE}=${attacker.access}; ${ACCESS_COOKIE}=${victim.access}`)
      .expect(401);
    expect(me.body).toEqual(CONFLICT);
    const logout = await request(demo.url)
      .post('/auth/logout')
      .set('Cookie', `${ACCESS_COOKIE}=${victim.access}; ${CSRF_COOKIE}=${attacker.csrf}; ${CSRF_COOKIE}=${victim.csrf}`)
      .set('Origin', PAGE_ORIGIN)
      .set('X-CSRF-Token', victim.csrf)
      .expect(401);
    expect(logout.body).toEqual(CONFLICT);
    expect((await stored(victim.sessionId)).revokedAt).toBeNull();
  });

  it('still refreshes a browser whose cookies agree, and one whose access cookie has expired', async () => {
    const victim = await signedIn('toss-victim');
    await victim.page.post('/auth/refresh').expect(200);
    victim.page.deleteCookie(ACCESS_COOKIE);
    await victim.page.post('/auth/refresh').expect(200);
    expect(await generation(victim.sessionId)).toBe(2);
  });
});
