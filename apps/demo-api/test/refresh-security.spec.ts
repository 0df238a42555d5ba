import { SessionStore } from '@tessera/session';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { CookieClient, PAGE_ORIGIN } from './support/cookie-client';
import { parseSetCookies, startDemoApp, uniqueEmail, REAL_BACKENDS } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const SECOND = 1_000;
const MINUTE = 60_000;

describe(`demo-api: refresh tokens that resist theft (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp({
      REFRESH_REUSE_GRACE: '10s',
      MAX_SESSIONS_PER_USER: '3',
      SESSION_IDLE_TIMEOUT: '1h',
      SESSION_ABSOLUTE_TIMEOUT: '3h',
      ACCESS_TOKEN_TTL: '10m',
      ALLOWED_ORIGINS: PAGE_ORIGIN,
    });
  });

  afterAll(async () => {
    await demo.close();
  });

  afterEach(() => demo.clock.set(Date.now()));

  async function bearerLogin(email?: string) {
    const address = email ?? uniqueEmail('rt');
    if (!email) {
      await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email: address, password: PASSWORD }).expect(201);
    }
    const login = await request(demo.url)
      .post('/auth/login')
      .set('X-Auth-Mode', 'bearer')
      .send({ email: address, password: PASSWORD })
      .expect(200);
    return { email: address, ...login.body } as {
      email: string;
      accessToken: string;
      refreshToken: string;
      session: { id: string };
      user: { id: string };
    };
  }

  const refresh = (refreshToken: string) =>
    request(demo.url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken });
  const me = (accessToken: string) => request(demo.url).get('/api/me').set('Authorization', `Bearer ${accessToken}`);
  /** The session as the store holds it (either backend). */
  const row = async (sessionId: string) => demo.app.get<SessionStore>(SessionStore).findById(sessionId);

  it('revokes the session when a rotated token is presented after the grace window', async () => {
    const login = await bearerLogin();
    const rotated = await refresh(login.refreshToken).expect(200);
    demo.clock.advance(11 * SECOND);
    const reused = await refresh(login.refreshToken).expect(401);
    expect(reused.body.code).toBe('refresh_token_reused');
    expect(await row(login.session.id)).toMatchObject({ revokedReason: 'refresh_token_reused' });
    // The current refresh token and the access tokens stop working too.
    expect((await refresh(rotated.body.refreshToken).expect(401)).body.code).toBe('invalid_refresh_token');
    expect((await me(rotated.body.accessToken).expect(401)).body.code).toBe('session_revoked');
    expect((await me(login.accessToken).expect(401)).body.code).toBe('session_revoked');
  });

  describe('finding 2: a forged refresh token costs O(1) work, whatever the generation of its session', () => {
    const ROTATIONS = 40;
    const random = () => randomBytes(32).toString('base64url');

    /** Records which store methods the app calls while `action` runs. */
    async function storeCallsDuring(action: () => Promise<void>): Promise<string[]> {
      const store = demo.app.get<SessionStore>(SessionStore);
      const calls: string[] = [];
      const spies = (['create', 'findById', 'rotateRefresh', 'touch', 'revoke', 'revokeByUser'] as const).map((method) => {
        const original = (store[method] as (...args: unknown[]) => unknown).bind(store);
        const recorded = (...args: unknown[]) => {
          calls.push(method);
          return original(...args);
        };
        return jest.spyOn(store, method).mockImplementation(recorded as never);
      });
      try {
        await action();
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
      return calls;
    }

    it('refuses forged tokens naming a live session without a database round trip and without revoking it', async () => {
      const login = await bearerLogin();
      let current = login.refreshToken;
      for (let i = 0; i < ROTATIONS; i++) current = (await refresh(current).expect(200)).body.refreshToken;
      const sid = login.session.id;
      const seed = current.split('.')[2];
      const forged = [
        `${sid}.0.${random()}`, // the former `<sid>.<generation>.<secret>`
        `${sid}.0.${random()}.${random()}`,
        `${sid}.0.${seed}.${random()}`, // the real seed, a made-up mac
        `${sid}.${ROTATIONS - 1}.${seed}.${random()}`,
      ];
      let responses: request.Response[] = [];
      const calls = await storeCallsDuring(async () => {
        responses = await Promise.all(forged.flatMap((token) => Array.from({ length: 5 }, () => refresh(token))));
      });
      expect(responses.map((response) => [response.status, response.body.code])).toEqual(
        Array(forged.length * 5).fill([401, 'invalid_refresh_token']),
      );
      expect(calls).toEqual([]);
      expect(await row(sid)).toMatchObject({ generation: ROTATIONS, revokedAt: null });

      // A genuine refresh is still exactly one store call, the rotation's compare-and-swap.
      const rotation = await storeCallsDuring(async () => {
        current = (await refresh(current).expect(200)).body.refreshToken;
      });
      expect(rotation).toEqual(['rotateRefresh']);

      // The genuine first token, many rotations behind, still revokes the session.
      demo.clock.advance(11 * SECOND);
      expect((await refresh(login.refreshToken).expect(401)).body.code).toBe('refresh_token_reused');
      expect(await row(sid)).toMatchObject({ revokedReason: 'refresh_token_reused' });
      expect((await refresh(current).expect(401)).body.code).toBe('invalid_refresh_token');
    });
  });

  it('lets 10 parallel refreshes with one token inside the window succeed and leave a working token', async () => {
    const login = await bearerLogin();
    const responses = await Promise.all(Array.from({ length: 10 }, () => refresh(login.refreshToken)));
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    const tokens = new Set(responses.map((response) => response.body.refreshToken as string));
    expect(tokens.size).toBe(1);
    expect(await row(login.session.id)).toMatchObject({ generation: 1, revokedAt: null });
    // Whichever response arrived last, its token works after the window closes.
    demo.clock.advance(30 * SECOND);
    const last = responses[responses.length - 1].body;
    await me(last.accessToken).expect(200);
    await refresh(last.refreshToken).expect(200);
  });

  it('rotates the refreshes of many sessions arriving at once, each on its own, and still catches a replayed one', async () => {
    // Sessions of several users (MAX_SESSIONS_PER_USER=3), refreshed all at once: the store
    // may rotate them in one statement, but every session gets its own outcome.
    const firsts = await Promise.all(Array.from({ length: 6 }, () => bearerLogin()));
    const logins = [...firsts, ...(await Promise.all(firsts.map((first) => bearerLogin(first.email))))];
    const responses = await Promise.all(logins.map((login) => refresh(login.refreshToken)));
    expect(responses.map((response) => response.status)).toEqual(Array(logins.length).fill(200));
    for (const [i, login] of logins.entries()) {
      expect(responses[i].body.session.id).toBe(login.session.id);
      expect(await row(login.session.id)).toMatchObject({ generation: 1, revokedAt: null });
    }
    // One stolen token replayed after the window, next to the others' fresh refreshes.
    demo.clock.advance(11 * SECOND);
    const [replayed, ...fresh] = await Promise.all([
      refresh(logins[0].refreshToken),
      ...responses.slice(1).map((response) => refresh(response.body.refreshToken)),
    ]);
    expect(replayed.status).toBe(401);
    expect(replayed.body.code).toBe('refresh_token_reused');
    expect(fresh.map((response) => response.status)).toEqual(Array(logins.length - 1).fill(200));
    expect(await row(logins[0].session.id)).toMatchObject({ revokedReason: 'refresh_token_reused' });
    expect(await row(logins[1].session.id)).toMatchObject({ generation: 2, revokedAt: null });
  });

  it('keeps cookie-mode tabs signed in when they refresh at once', async () => {
    const email = uniqueEmail('tabs');
    const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
    await browser.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
    await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    // Both tabs send what the browser holds at that moment: the same refresh cookie and CSRF token.
    const tab = () =>
      request(demo.url)
        .post('/auth/refresh')
        .set('Cookie', browser.cookieHeader('/auth/refresh'))
        .set('X-CSRF-Token', String(browser.csrfToken))
        .set('Origin', PAGE_ORIGIN);
    const [tabA, tabB] = await Promise.all([tab(), tab()]);
    expect([tabA.status, tabB.status]).toEqual([200, 200]);
    const rtA = parseSetCookies(tabA.headers['set-cookie']).find((c) => c.name === '__Secure-tessera-rt')?.value;
    const rtB = parseSetCookies(tabB.headers['set-cookie']).find((c) => c.name === '__Secure-tessera-rt')?.value;
    expect(rtA).toBeDefined();
    expect(rtA).toBe(rtB);
  });

  it('ends an idle session (SESSION_IDLE_TIMEOUT) and an old one (SESSION_ABSOLUTE_TIMEOUT) with session_expired', async () => {
    const idle = await bearerLogin();
    demo.clock.advance(61 * MINUTE);
    expect((await refresh(idle.refreshToken).expect(401)).body.code).toBe('session_expired');

    demo.clock.set(Date.now());
    const busy = await bearerLogin();
    let token = busy.refreshToken;
    for (let i = 0; i < 3; i++) {
      demo.clock.advance(50 * MINUTE);
      token = (await refresh(token).expect(200)).body.refreshToken;
    }
    demo.clock.advance(31 * MINUTE); // 3 h 1 min after login
    expect((await refresh(token).expect(401)).body.code).toBe('session_expired');
  });

  it('lets no access token outlive the absolute timeout, whatever the revocation mode', async () => {
    const login = await bearerLogin();
    let token = login.refreshToken;
    let access = login.accessToken;
    for (const step of [55, 55, 55, 10]) {
      demo.clock.advance(step * MINUTE); // refreshed last at 2 h 55 min
      const body = (await refresh(token).expect(200)).body;
      token = body.refreshToken;
      access = body.accessToken;
      expect(body.expiresIn).toBeLessThanOrEqual(10 * 60);
    }
    const claims = JSON.parse(Buffer.from(access.split('.')[1], 'base64url').toString('utf8'));
    expect(claims.exp - claims.iat).toBe(5 * 60); // capped at the session's end, not the 10-minute lifetime
    demo.clock.advance(4 * MINUTE); // 2 h 59 min
    await me(access).expect(200);
    demo.clock.advance(MINUTE + 6 * SECOND); // 3 h 0 min 6 s: past the end plus the 5 s leeway
    expect((await me(access).expect(401)).body.code).toBe('token_expired');
    expect((await refresh(token).expect(401)).body.code).toBe('session_expired');
  });

  it('evicts the oldest session at the fourth login with MAX_SESSIONS_PER_USER=3', async () => {
    const first = await bearerLogin();
    const others = [];
    for (let i = 0; i < 3; i++) {
      demo.clock.advance(SECOND);
      others.push(await bearerLogin(first.email));
    }
    expect(await row(first.session.id)).toMatchObject({ revokedReason: 'evicted' });
    expect((await me(first.accessToken).expect(401)).body.code).toBe('session_revoked');
    for (const login of others) await me(login.accessToken).expect(200);
  });

  it('changes the password: every other session revoked, this one re-issued under a new id', async () => {
    const other = await bearerLogin();
    const email = other.email;
    const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
    const cookieLogin = await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    const csrfBefore = browser.csrfToken;

    const wrong = await browser
      .post('/api/me/password')
      .send({ currentPassword: 'not the password', newPassword: 'a brand new password' })
      .expect(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    await me(other.accessToken).expect(200);

    const changed = await browser
      .post('/api/me/password')
      .send({ currentPassword: PASSWORD, newPassword: 'a brand new password' })
      .expect(204);
    const renewed = parseSetCookies(changed.headers['set-cookie']);
    const access = renewed.find((cookie) => cookie.name === '__Host-tessera-at');
    expect(access).toBeDefined();
    const now = await request(demo.url).get('/api/me').set('Cookie', `__Host-tessera-at=${access?.value}`).expect(200);
    expect(now.body.sessionId).not.toBe(cookieLogin.body.session.id);
    expect(await row(cookieLogin.body.session.id)).toMatchObject({ revokedReason: 'reissued' });
    expect(await row(other.session.id)).toMatchObject({ revokedReason: 'password_changed' });
    expect((await me(other.accessToken).expect(401)).body.code).toBe('session_revoked');
    // The new session came with a CSRF token bound to it, which the page's next request uses.
    expect(renewed.find((cookie) => cookie.name === '__Host-tessera-csrf')?.value).toBe(browser.csrfToken);
    expect(browser.csrfToken).not.toBe(csrfBefore);
    await browser.post('/auth/refresh').expect(200);

    await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(401);
    await browser.post('/auth/login').send({ email, password: 'a brand new password' }).expect(200);
  });

  it('changes the password in bearer mode and hands back working tokens', async () => {
    const login = await bearerLogin();
    const changed = await request(demo.url)
      .post('/api/me/password')
      .set('Authorization', `Bearer ${login.accessToken}`)
      .send({ currentPassword: PASSWORD, newPassword: 'another new password' })
      .expect(200);
    expect(changed.headers['cache-control']).toBe('no-store');
    expect(changed.body.session.id).not.toBe(login.session.id);
    await me(changed.body.accessToken).expect(200);
    await refresh(changed.body.refreshToken).expect(200);
    expect((await me(login.accessToken).expect(401)).body.code).toBe('session_revoked');
  });

  it('refuses an unchanged or invalid new password without touching sessions', async () => {
    const login = await bearerLogin();
    const same = await request(demo.url)
      .post('/api/me/password')
      .set('Authorization', `Bearer ${login.accessToken}`)
      .send({ currentPassword: PASSWORD, newPassword: PASSWORD })
      .expect(400);
    expect(same.body.code).toBe('password_unchanged');
    const short = await request(demo.url)
      .post('/api/me/password')
      .set('Authorization', `Bearer ${login.accessToken}`)
      .send({ currentPassword: PASSWORD, newPassword: 'short' })
      .expect(400);
    expect(short.body.fields).toContain('newPassword');
    await me(login.accessToken).expect(200);
  });
});
