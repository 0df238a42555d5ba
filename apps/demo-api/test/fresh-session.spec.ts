import request from 'supertest';
import { loadConfig } from '../src/app/config/app-config';
import { CookieClient, PAGE_ORIGIN } from './support/cookie-client';
import { REAL_BACKENDS, bearerLogin, bearerRefresh, bearerSignup, startDemoApp, uniqueEmail } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const CHALLENGE = /^Bearer error="insufficient_user_authentication", error_description="[^"]+", max_age=(\d+)$/;

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { auth_time: number; iat: number; sid: string };

/**
 * Fresh sessions (issue 19): the password change and the admin routes need a session whose
 * user proved a credential within FRESH_SESSION_MAX_AGE; `POST /auth/reauthenticate` makes
 * it fresh again. Time moves on the app's FakeClock, in every revocation mode.
 */
describe.each(['cached', 'stateless', 'strict'] as const)(`fresh sessions over HTTP (${REAL_BACKENDS}, REVOCATION_MODE=%s)`, (mode) => {
  let demo: DemoApp;
  const adminEmail = uniqueEmail('fresh-admin');

  beforeAll(async () => {
    demo = await startDemoApp({ REVOCATION_MODE: mode, ADMIN_EMAILS: adminEmail, ALLOWED_ORIGINS: PAGE_ORIGIN, LOGIN_RATE_LIMIT: '3' });
  });

  afterAll(async () => {
    await demo?.close();
  });

  const changePassword = (token: string, currentPassword: string, newPassword: string) =>
    request(demo.url).post('/api/me/password').set('Authorization', `Bearer ${token}`).send({ currentPassword, newPassword });
  const reauthenticate = (token: string, password: string) =>
    request(demo.url).post('/auth/reauthenticate').set('Authorization', `Bearer ${token}`).send({ password });

  it('bearer: stale → 401 reauthentication_required with the RFC 9470 challenge; after POST /auth/reauthenticate → allowed', async () => {
    const user = await bearerSignup(demo.url, 'fresh-bearer', PASSWORD);
    const loginAuthTime = claimsOf(user.accessToken).auth_time;
    expect(loginAuthTime).toBe(claimsOf(user.accessToken).iat);
    demo.clock.advance(11 * MINUTE);
    // The access token expired meanwhile: a refresh gives a new one, as stale as the login.
    const refreshed = (await bearerRefresh(demo.url, user.refreshToken).expect(200)).body;
    expect(claimsOf(refreshed.accessToken).auth_time).toBe(loginAuthTime);
    const stale = await changePassword(refreshed.accessToken, PASSWORD, 'a brand new password').expect(401);
    expect(stale.body).toMatchObject({ statusCode: 401, code: 'reauthentication_required' });
    expect(CHALLENGE.exec(stale.headers['www-authenticate'])?.[1]).toBe('600');

    const wrong = await reauthenticate(refreshed.accessToken, 'not the password').expect(401);
    expect(wrong.body.code).toBe('invalid_credentials');
    const step = await reauthenticate(refreshed.accessToken, PASSWORD).expect(200);
    expect(Object.keys(step.body).sort()).toEqual(['accessToken', 'expiresIn', 'tokenType']);
    expect(step.body.tokenType).toBe('Bearer');
    expect(step.headers['cache-control']).toBe('no-store');
    const stepped = claimsOf(step.body.accessToken);
    expect(stepped.sid).toBe(user.session.id);
    expect(stepped.auth_time).toBeGreaterThan(loginAuthTime);
    expect(stepped.auth_time).toBe(Math.floor(demo.clock.now().getTime() / 1000));
    await request(demo.url).get('/api/me').set('Authorization', `Bearer ${step.body.accessToken}`).expect(200);
    // The step-up keeps the session (same id) and its refresh token chain.
    const again = (await bearerRefresh(demo.url, refreshed.refreshToken).expect(200)).body;
    expect(again.session.id).toBe(user.session.id);
    expect(claimsOf(again.accessToken).auth_time).toBe(stepped.auth_time);
    await changePassword(again.accessToken, PASSWORD, 'a brand new password').expect(200);
  });

  it('a refresh keeps freshness, and auth_time never moves forward on refresh', async () => {
    const user = await bearerSignup(demo.url, 'fresh-refresh', PASSWORD);
    const loginAuthTime = claimsOf(user.accessToken).auth_time;
    let refreshToken = user.refreshToken;
    let accessToken = user.accessToken;
    for (const step of [3, 3, 3]) {
      demo.clock.advance(step * MINUTE);
      const refreshed = (await bearerRefresh(demo.url, refreshToken).expect(200)).body;
      ({ refreshToken, accessToken } = refreshed);
      const claims = claimsOf(accessToken);
      expect(claims.auth_time).toBe(loginAuthTime);
      expect(claims.iat).toBeGreaterThan(loginAuthTime);
    }
    // 9 minutes after the login: still fresh, through three refreshes. The password change
    // re-issues the session under a new id, exactly as fresh (no credential moved it).
    const changed = (await changePassword(accessToken, PASSWORD, 'yet another password').expect(200)).body;
    expect(changed.session.id).not.toBe(user.session.id);
    expect(claimsOf(changed.accessToken).auth_time).toBe(loginAuthTime);
    demo.clock.advance(2 * MINUTE);
    const later = (await bearerRefresh(demo.url, changed.refreshToken).expect(200)).body;
    expect(claimsOf(later.accessToken).auth_time).toBe(loginAuthTime);
    expect((await changePassword(later.accessToken, 'yet another password', PASSWORD).expect(401)).body.code).toBe(
      'reauthentication_required',
    );
  });

  it('the admin routes need a fresh session', async () => {
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email: adminEmail, password: PASSWORD }).expect(201);
    const admin = (await bearerLogin(demo.url, adminEmail, PASSWORD).expect(200)).body;
    const target = `/api/admin/users/${admin.user.id}/sessions`;
    await request(demo.url).get(target).set('Authorization', `Bearer ${admin.accessToken}`).expect(200);
    demo.clock.advance(9 * MINUTE);
    await request(demo.url).get(target).set('Authorization', `Bearer ${admin.accessToken}`).expect(200);
    demo.clock.advance(2 * MINUTE);
    const refreshed = (await bearerRefresh(demo.url, admin.refreshToken).expect(200)).body;
    const stale = await request(demo.url).get(target).set('Authorization', `Bearer ${refreshed.accessToken}`).expect(401);
    expect(stale.body.code).toBe('reauthentication_required');
    expect(stale.headers['www-authenticate']).toMatch(CHALLENGE);
    const step = (await reauthenticate(refreshed.accessToken, PASSWORD).expect(200)).body;
    await request(demo.url).get(target).set('Authorization', `Bearer ${step.accessToken}`).expect(200);
  });

  it('cookie mode: the same 401 without a bearer challenge; POST /auth/reauthenticate answers 204 with new cookies, and the retry passes', async () => {
    const email = uniqueEmail('fresh-cookie');
    const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
    await browser.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
    await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    const sessionBefore = (await browser.get('/api/me').expect(200)).body.sessionId;
    demo.clock.advance(11 * MINUTE);
    await browser.post('/auth/refresh').expect(200);
    const stale = await browser.post('/api/me/password').send({ currentPassword: PASSWORD, newPassword: 'cookie mode new password' }).expect(401);
    expect(stale.body.code).toBe('reauthentication_required');
    expect(stale.headers['www-authenticate']).toBeUndefined();
    const step = await browser.post('/auth/reauthenticate').send({ password: PASSWORD }).expect(204);
    const names = ([] as string[]).concat(step.headers['set-cookie'] ?? []).map((cookie) => cookie.split('=')[0]);
    expect(names).toEqual(expect.arrayContaining(['__Host-tessera-at', '__Host-tessera-csrf']));
    expect(names).not.toContain('__Secure-tessera-rt');
    expect((await browser.get('/api/me').expect(200)).body.sessionId).toBe(sessionBefore);
    await browser.post('/api/me/password').send({ currentPassword: PASSWORD, newPassword: 'cookie mode new password' }).expect(204);
  });

  it('a wrong password at POST /auth/reauthenticate counts toward the login rate limit', async () => {
    const user = await bearerSignup(demo.url, 'fresh-limit', PASSWORD);
    for (let i = 0; i < 3; i += 1) {
      expect((await reauthenticate(user.accessToken, `wrong password ${i}`).expect(401)).body.code).toBe('invalid_credentials');
    }
    expect((await bearerLogin(demo.url, user.email, PASSWORD).expect(429)).body.code).toBe('too_many_attempts');
    expect((await reauthenticate(user.accessToken, PASSWORD).expect(429)).body.code).toBe('too_many_attempts');
  });

  it('refuses a malformed body and an anonymous request', async () => {
    const user = await bearerSignup(demo.url, 'fresh-body', PASSWORD);
    expect((await reauthenticate(user.accessToken, 42 as unknown as string).expect(400)).body.code).toBe('validation_failed');
    expect((await request(demo.url).post('/auth/reauthenticate').set('X-Auth-Mode', 'bearer').send({ password: PASSWORD }).expect(401)).body.code).toBe(
      'token_missing',
    );
  });
});

describe('FRESH_SESSION_MAX_AGE', () => {
  it('sets how fresh a session must be', async () => {
    const demo = await startDemoApp({ FRESH_SESSION_MAX_AGE: '30s' });
    try {
      const user = await bearerSignup(demo.url, 'fresh-short', PASSWORD);
      demo.clock.advance(31 * SECOND);
      const stale = await request(demo.url)
        .post('/api/me/password')
        .set('Authorization', `Bearer ${user.accessToken}`)
        .send({ currentPassword: PASSWORD, newPassword: 'a brand new password' })
        .expect(401);
      expect(CHALLENGE.exec(stale.headers['www-authenticate'])?.[1]).toBe('30');
    } finally {
      await demo.close();
    }
  });

  it('is validated at boot like the other durations', () => {
    const base = { NODE_ENV: 'test', DATABASE_URL: 'postgres://localhost/x', JWT_SECRET: 'j'.repeat(40), SESSION_SECRET: 's'.repeat(40) };
    expect(() => loadConfig({ ...base, FRESH_SESSION_MAX_AGE: 'soon' })).toThrow(/FRESH_SESSION_MAX_AGE/);
    expect(() => loadConfig({ ...base, FRESH_SESSION_MAX_AGE: '5m' })).not.toThrow();
  });
});
