import { SessionStore } from '@tessera/session';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { CookieClient, PAGE_ORIGIN } from './support/cookie-client';
import { parseSetCookies, startDemoApp, uniqueEmail, REAL_BACKENDS } from './support/demo-app';
import type { DemoApp, SetCookie } from './support/demo-app';
import type { SessionView } from '@tessera/session';

const PASSWORD = 'correct horse battery';
const ACCESS_COOKIE = '__Host-tessera-at';
const REFRESH_COOKIE = '__Secure-tessera-rt';
const CSRF_COOKIE = '__Host-tessera-csrf';
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const VIEW_FIELDS = ['contextChangedAt', 'createdAt', 'current', 'device', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent'];
const SESSION_NOT_FOUND = { statusCode: 404, error: 'Not Found', message: expect.any(String), code: 'session_not_found' };

/** A bearer-mode login: its tokens and session id. */
interface BearerLogin {
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  userAgent: string;
}

/** A cookie-mode login: the browser, the `Cookie` header it had right after login, and the session id. */
interface CookieLogin {
  browser: CookieClient;
  cookie: string;
  sessionId: string;
}

/** Session list item as the API sends it (the library's `SessionView`, as JSON). */
type SessionItem = SessionView;

function cookieHeader(cookies: SetCookie[]): string {
  return cookies.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
}

function bearer(login: BearerLogin): string {
  return `Bearer ${login.accessToken}`;
}

// Both modes that check revocation; every "401 after revocation" is asserted right after
// the revocation, on the instance that made it (which updates its own cache synchronously).
describe.each(['cached', 'strict'])(`demo-api: listing and revoking sessions over HTTP (${REAL_BACKENDS}, REVOCATION_MODE=%s)`, (mode) => {
  // Emails are unique per database and other files share it: a fresh admin email per run.
  const adminEmail = uniqueEmail('sessions-admin');
  const selfRevokingAdminEmail = uniqueEmail('sessions-admin-self');
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp({
      ADMIN_EMAILS: `${adminEmail},${selfRevokingAdminEmail}`,
      REVOCATION_MODE: mode,
      ALLOWED_ORIGINS: PAGE_ORIGIN,
    });
  });

  /** Why the store says a session was revoked (null while it is live). */
  async function revokedReason(sessionId: string): Promise<string | null | undefined> {
    return (await demo.app.get<SessionStore>(SessionStore).findById(sessionId))?.revokedReason;
  }

  afterAll(async () => {
    await demo?.close();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  async function register(email = uniqueEmail('sessions')): Promise<{ id: string; email: string }> {
    const response = await request(demo.url)
      .post('/auth/register')
      .set('X-Auth-Mode', 'bearer')
      .send({ email, password: PASSWORD })
      .expect(201);
    return response.body;
  }

  async function loginBearer(email: string, userAgent = `sessions-spec/${randomBytes(4).toString('hex')}`): Promise<BearerLogin> {
    const response = await request(demo.url)
      .post('/auth/login')
      .set('X-Auth-Mode', 'bearer')
      .set('User-Agent', userAgent)
      .send({ email, password: PASSWORD })
      .expect(200);
    return {
      accessToken: response.body.accessToken,
      refreshToken: response.body.refreshToken,
      sessionId: response.body.session.id,
      userAgent,
    };
  }

  async function loginCookie(email: string): Promise<CookieLogin> {
    const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
    const response = await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    return { browser, cookie: cookieHeader(parseSetCookies(response.headers['set-cookie'])), sessionId: response.body.session.id };
  }

  async function listAs(login: BearerLogin): Promise<SessionItem[]> {
    const response = await request(demo.url).get('/auth/sessions').set('Authorization', bearer(login)).expect(200);
    return response.body;
  }

  /** Status and `code` of `GET /api/me` with this access token. */
  async function meWith(login: BearerLogin): Promise<{ status: number; code?: string }> {
    const response = await request(demo.url).get('/api/me').set('Authorization', bearer(login));
    return { status: response.status, code: response.body.code };
  }

  /** Status and `code` of a bearer-mode refresh with this login's refresh token. */
  async function refreshWith(login: BearerLogin): Promise<{ status: number; code?: string }> {
    const response = await request(demo.url)
      .post('/auth/refresh')
      .set('X-Auth-Mode', 'bearer')
      .send({ refreshToken: login.refreshToken });
    return { status: response.status, code: response.body.code };
  }

  /** Asserts the response cleared the session cookies and the CSRF cookie, and sent `Clear-Site-Data`. */
  function expectCookiesCleared(response: request.Response): void {
    expect(response.headers['clear-site-data']).toBe('"cookies"');
    const cleared = parseSetCookies(response.headers['set-cookie']);
    for (const name of [ACCESS_COOKIE, REFRESH_COOKIE, CSRF_COOKIE]) {
      const cookie = cleared.find((candidate) => candidate.name === name);
      expect(cookie).toBeDefined();
      expect(cookie?.value).toBe('');
      expect(new Date(String(cookie?.attributes.expires)).getTime()).toBeLessThan(Date.now());
    }
  }

  const REVOKED = { status: 401, code: 'session_revoked' };
  const LIVE = { status: 200, code: undefined };

  describe('GET /auth/sessions', () => {
    it("lists exactly the caller's live sessions, the documented fields only, current marked", async () => {
      const { email } = await register();
      const first = await loginBearer(email, 'Mozilla/5.0 (first device)');
      const second = await loginBearer(email, 'Mozilla/5.0 (second device)');
      const ended = await loginBearer(email, 'ended-device/1.0');
      await request(demo.url).post('/auth/logout').set('Authorization', bearer(ended)).expect(204);
      // Someone else's session must not show up.
      const other = await register();
      await loginBearer(other.email);

      const response = await request(demo.url).get('/auth/sessions').set('Authorization', bearer(second)).expect(200);
      expect(response.headers['cache-control']).toBe('no-store');
      const items: SessionItem[] = response.body;
      expect(items.map((item) => item.id).sort()).toEqual([first.sessionId, second.sessionId].sort());
      for (const item of items) {
        expect(Object.keys(item).sort()).toEqual(VIEW_FIELDS);
        for (const field of ['createdAt', 'lastSeenAt', 'expiresAt'] as const) {
          expect(item[field]).toMatch(ISO_DATE);
        }
        expect(Date.parse(item.lastSeenAt)).toBeGreaterThanOrEqual(Date.parse(item.createdAt));
        expect(Date.parse(item.expiresAt)).toBeGreaterThan(Date.parse(item.lastSeenAt));
        expect(item.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
      }
      const byId = new Map(items.map((item) => [item.id, item]));
      expect(byId.get(first.sessionId)).toMatchObject({ current: false, userAgent: 'Mozilla/5.0 (first device)' });
      expect(byId.get(second.sessionId)).toMatchObject({ current: true, userAgent: 'Mozilla/5.0 (second device)' });

      // The other session sees the same list with current moved to itself.
      const seenByFirst = await listAs(first);
      expect(seenByFirst.filter((item) => item.current).map((item) => item.id)).toEqual([first.sessionId]);
    });

    it('marks the current session in cookie mode too', async () => {
      const { email } = await register();
      const viaCookie = await loginCookie(email);
      const viaBearer = await loginBearer(email);
      const response = await request(demo.url).get('/auth/sessions').set('Cookie', viaCookie.cookie).expect(200);
      const current = (response.body as SessionItem[]).filter((item) => item.current).map((item) => item.id);
      expect(current).toEqual([viaCookie.sessionId]);
      expect((response.body as SessionItem[]).map((item) => item.id)).toContain(viaBearer.sessionId);
    });

    it('answers 401 token_missing without a token', async () => {
      const response = await request(demo.url).get('/auth/sessions').expect(401);
      expect(response.body.code).toBe('token_missing');
    });
  });

  describe('POST /auth/logout-all', () => {
    it("revokes every session of the caller, clears the cookies, and leaves other users alone", async () => {
      const { email } = await register();
      const current = await loginCookie(email);
      const others = [await loginBearer(email), await loginBearer(email)];
      const bystander = await register();
      const bystanderLogin = await loginBearer(bystander.email);

      const response = await current.browser.post('/auth/logout-all').send({}).expect(204);
      expectCookiesCleared(response);
      expect(response.headers['cache-control']).toBe('no-store');

      // Asserted at once, on the instance that revoked (its revocation cache is updated synchronously).
      const afterCookie = await request(demo.url).get('/api/me').set('Cookie', current.cookie).expect(401);
      expect(afterCookie.body.code).toBe('session_revoked');
      for (const login of others) {
        expect(await meWith(login)).toEqual(REVOKED);
        expect(await refreshWith(login)).toEqual({ status: 401, code: 'invalid_refresh_token' });
      }
      expect(await meWith(bystanderLogin)).toEqual(LIVE);
      expect((await listAs(bystanderLogin)).map((item) => item.id)).toEqual([bystanderLogin.sessionId]);

      for (const id of [current.sessionId, ...others.map((login) => login.sessionId)]) {
        expect(await revokedReason(id)).toBe('logout_all');
      }
      expect(await revokedReason(bystanderLogin.sessionId)).toBeNull();

      const fresh = await loginBearer(email);
      expect((await listAs(fresh)).map((item) => item.id)).toEqual([fresh.sessionId]);
    });

    it('accepts a request without a body, and keepCurrent: false, as "revoke all"', async () => {
      const { email } = await register();
      const a = await loginBearer(email);
      await request(demo.url).post('/auth/logout-all').set('Authorization', bearer(a)).expect(204);
      expect(await meWith(a)).toEqual(REVOKED);

      const b = await loginBearer(email);
      const c = await loginBearer(email);
      await request(demo.url).post('/auth/logout-all').set('Authorization', bearer(b)).send({ keepCurrent: false }).expect(204);
      expect(await meWith(b)).toEqual(REVOKED);
      expect(await meWith(c)).toEqual(REVOKED);
    });

    it('with keepCurrent: true revokes only the other sessions and keeps the cookies', async () => {
      const { email } = await register();
      const first = await loginBearer(email);
      const current = await loginBearer(email);
      const third = await loginBearer(email);

      const response = await request(demo.url)
        .post('/auth/logout-all')
        .set('Authorization', bearer(current))
        .send({ keepCurrent: true })
        .expect(204);
      expect(response.headers['clear-site-data']).toBeUndefined();
      expect(response.headers['set-cookie']).toBeUndefined();

      expect(await meWith(current)).toEqual(LIVE);
      expect(await meWith(first)).toEqual(REVOKED);
      expect(await meWith(third)).toEqual(REVOKED);
      expect(await listAs(current)).toEqual([expect.objectContaining({ id: current.sessionId, current: true })]);
      expect(await refreshWith(current)).toMatchObject({ status: 200 });
    });

    it('keeps the current session in cookie mode with keepCurrent: true', async () => {
      const { email } = await register();
      const current = await loginCookie(email);
      const other = await loginBearer(email);
      const response = await current.browser.post('/auth/logout-all').send({ keepCurrent: true }).expect(204);
      expect(response.headers['set-cookie']).toBeUndefined();
      await request(demo.url).get('/api/me').set('Cookie', current.cookie).expect(200);
      expect(await meWith(other)).toEqual(REVOKED);
    });

    it.each([
      ['a string', { keepCurrent: 'yes' }, 'keepCurrent'],
      ['the string "true"', { keepCurrent: 'true' }, 'keepCurrent'],
      ['a number', { keepCurrent: 1 }, 'keepCurrent'],
      ['null', { keepCurrent: null }, 'keepCurrent'],
      ['an unknown field', { keepCurrent: true, everyone: true }, 'everyone'],
    ])('refuses %s with 400 naming the field, revoking nothing', async (_label, body, field) => {
      const { email } = await register();
      const current = await loginBearer(email);
      const other = await loginBearer(email);
      const response = await request(demo.url).post('/auth/logout-all').set('Authorization', bearer(current)).send(body).expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request', code: 'validation_failed' });
      expect(response.body.fields).toContain(field);
      expect(await meWith(current)).toEqual(LIVE);
      expect(await meWith(other)).toEqual(LIVE);
    });

    it('answers 401 token_missing without a token', async () => {
      const response = await request(demo.url).post('/auth/logout-all').send({}).expect(401);
      expect(response.body.code).toBe('token_missing');
    });
  });

  describe('DELETE /auth/sessions/:id', () => {
    it("revokes another session of the caller: its access and refresh tokens stop working", async () => {
      const { email } = await register();
      const current = await loginBearer(email);
      const target = await loginBearer(email);

      const response = await request(demo.url)
        .delete(`/auth/sessions/${target.sessionId}`)
        .set('Authorization', bearer(current))
        .expect(204);
      expect(response.headers['clear-site-data']).toBeUndefined();
      expect(response.headers['set-cookie']).toBeUndefined();

      expect(await meWith(target)).toEqual(REVOKED);
      expect(await refreshWith(target)).toEqual({ status: 401, code: 'invalid_refresh_token' });
      expect(await revokedReason(target.sessionId)).toBe('user_revoked');
      expect(await meWith(current)).toEqual(LIVE);
      expect((await listAs(current)).map((item) => item.id)).toEqual([current.sessionId]);

      // Already revoked: nothing left to delete.
      const again = await request(demo.url)
        .delete(`/auth/sessions/${target.sessionId}`)
        .set('Authorization', bearer(current))
        .expect(404);
      expect(again.body).toEqual(SESSION_NOT_FOUND);
    });

    it('ends the current session and clears its cookies', async () => {
      const { email } = await register();
      const current = await loginCookie(email);
      const other = await loginBearer(email);
      const response = await current.browser.delete(`/auth/sessions/${current.sessionId}`).expect(204);
      expectCookiesCleared(response);
      const after = await request(demo.url).get('/api/me').set('Cookie', current.cookie).expect(401);
      expect(after.body.code).toBe('session_revoked');
      expect(await meWith(other)).toEqual(LIVE);
    });

    it("answers 404 session_not_found for another user's session, which keeps working", async () => {
      const caller = await loginBearer((await register()).email);
      const victim = await loginBearer((await register()).email);
      const response = await request(demo.url)
        .delete(`/auth/sessions/${victim.sessionId}`)
        .set('Authorization', bearer(caller))
        .expect(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
      expect(await revokedReason(victim.sessionId)).toBeNull();
      expect(await meWith(victim)).toEqual(LIVE);
      expect(await refreshWith(victim)).toMatchObject({ status: 200 });
      expect(await meWith(caller)).toEqual(LIVE);
    });

    it('answers the same 404 for an unknown id and for malformed ids, which never reach the store', async () => {
      const caller = await loginBearer((await register()).email);
      const store = demo.app.get<SessionStore>(SessionStore);
      const findById = jest.spyOn(store, 'findById');
      const revoke = jest.spyOn(store, 'revoke');
      const revokeByUser = jest.spyOn(store, 'revokeByUser');

      const malformed = [
        'garbage',
        'a'.repeat(21),
        'a'.repeat(23),
        `${'a'.repeat(21)}!`,
        `${'a'.repeat(21)}.`,
        `${caller.sessionId}x`,
        "' OR '1'='1",
      ];
      for (const id of malformed) {
        const response = await request(demo.url)
          .delete(`/auth/sessions/${encodeURIComponent(id)}`)
          .set('Authorization', bearer(caller))
          .expect(404);
        expect(response.body).toEqual(SESSION_NOT_FOUND);
      }
      const touched = [...findById.mock.calls, ...revoke.mock.calls].map((call) => call[0]);
      for (const id of malformed) expect(touched).not.toContain(id);
      expect(revokeByUser).not.toHaveBeenCalled();

      // A well-formed unknown id does reach the store (so the spies above can see a call).
      const unknown = randomBytes(16).toString('base64url');
      const response = await request(demo.url)
        .delete(`/auth/sessions/${unknown}`)
        .set('Authorization', bearer(caller))
        .expect(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
      expect(findById.mock.calls.map((call) => call[0])).toContain(unknown);
      expect(await meWith(caller)).toEqual(LIVE);
    });

    it('answers 401 token_missing without a token', async () => {
      const response = await request(demo.url).delete(`/auth/sessions/${randomBytes(16).toString('base64url')}`).expect(401);
      expect(response.body.code).toBe('token_missing');
    });
  });

  describe('admin: /api/admin/users/:id/sessions', () => {
    let admin: BearerLogin;
    let adminId: string;

    beforeAll(async () => {
      adminId = (await register(adminEmail)).id;
      const login = await request(demo.url)
        .post('/auth/login')
        .set('X-Auth-Mode', 'bearer')
        .send({ email: adminEmail, password: PASSWORD })
        .expect(200);
      expect(login.body.user.roles).toEqual(['user', 'admin']);
      admin = {
        accessToken: login.body.accessToken,
        refreshToken: login.body.refreshToken,
        sessionId: login.body.session.id,
        userAgent: '',
      };
    });

    it("lists another user's live sessions with current false, then revokes them all (reason admin)", async () => {
      const target = await register();
      const first = await loginBearer(target.email, 'target-phone/1.0');
      const second = await loginBearer(target.email, 'target-laptop/2.0');
      const bystander = await loginBearer((await register()).email);

      const listed = await request(demo.url)
        .get(`/api/admin/users/${target.id}/sessions`)
        .set('Authorization', bearer(admin))
        .expect(200);
      expect(listed.headers['cache-control']).toBe('no-store');
      const items: SessionItem[] = listed.body;
      expect(items.map((item) => item.id).sort()).toEqual([first.sessionId, second.sessionId].sort());
      for (const item of items) {
        expect(Object.keys(item).sort()).toEqual(VIEW_FIELDS);
        expect(item.current).toBe(false);
        expect(item.createdAt).toMatch(ISO_DATE);
      }
      expect(items.map((item) => item.userAgent).sort()).toEqual(['target-laptop/2.0', 'target-phone/1.0']);

      const revoked = await request(demo.url)
        .delete(`/api/admin/users/${target.id}/sessions`)
        .set('Authorization', bearer(admin))
        .expect(204);
      expect(revoked.headers['set-cookie']).toBeUndefined();
      for (const login of [first, second]) {
        expect(await meWith(login)).toEqual(REVOKED);
        expect(await refreshWith(login)).toEqual({ status: 401, code: 'invalid_refresh_token' });
        expect(await revokedReason(login.sessionId)).toBe('admin');
      }
      const after = await request(demo.url)
        .get(`/api/admin/users/${target.id}/sessions`)
        .set('Authorization', bearer(admin))
        .expect(200);
      expect(after.body).toEqual([]);
      expect(await meWith(admin)).toEqual(LIVE);
      expect(await meWith(bystander)).toEqual(LIVE);
    });

    it('accepts the user id in upper case (UUIDs are case-insensitive)', async () => {
      const target = await register();
      const login = await loginBearer(target.email);
      const upper = target.id.toUpperCase();
      const listed = await request(demo.url)
        .get(`/api/admin/users/${upper}/sessions`)
        .set('Authorization', bearer(admin))
        .expect(200);
      expect((listed.body as SessionItem[]).map((item) => item.id)).toEqual([login.sessionId]);
      await request(demo.url).delete(`/api/admin/users/${upper}/sessions`).set('Authorization', bearer(admin)).expect(204);
      expect(await meWith(login)).toEqual(REVOKED);
    });

    it("marks current only on the admin's own session", async () => {
      const own = await request(demo.url)
        .get(`/api/admin/users/${adminId}/sessions`)
        .set('Authorization', bearer(admin))
        .expect(200);
      const items: SessionItem[] = own.body;
      expect(items.filter((item) => item.current).map((item) => item.id)).toEqual([admin.sessionId]);
    });

    it("clears the admin's cookies when the admin revokes its own sessions", async () => {
      const self = await register(selfRevokingAdminEmail);
      const viaCookie = await loginCookie(selfRevokingAdminEmail);
      const viaBearer = await loginBearer(selfRevokingAdminEmail);
      const response = await viaCookie.browser.delete(`/api/admin/users/${self.id}/sessions`).expect(204);
      expectCookiesCleared(response);
      const after = await request(demo.url).get('/api/me').set('Cookie', viaCookie.cookie).expect(401);
      expect(after.body.code).toBe('session_revoked');
      expect(await meWith(viaBearer)).toEqual(REVOKED);
      expect(await meWith(admin)).toEqual(LIVE);
    });

    it('answers 200 [] for an unknown user, and 204 for revoking its (no) sessions', async () => {
      const unknown = randomUUID();
      const listed = await request(demo.url)
        .get(`/api/admin/users/${unknown}/sessions`)
        .set('Authorization', bearer(admin))
        .expect(200);
      expect(listed.body).toEqual([]);
      await request(demo.url).delete(`/api/admin/users/${unknown}/sessions`).set('Authorization', bearer(admin)).expect(204);
      expect(await meWith(admin)).toEqual(LIVE);
    });

    it.each(['not-a-uuid', '123', `${'0'.repeat(8)}-0000-0000-0000-00000000000`, 'g'.repeat(8) + '-0000-4000-8000-000000000000'])(
      'answers 400 validation_failed naming id for the malformed user id %p, on both routes',
      async (id) => {
        const target = await register();
        const login = await loginBearer(target.email);
        for (const method of ['get', 'delete'] as const) {
          const response = await request(demo.url)[method](`/api/admin/users/${encodeURIComponent(id)}/sessions`)
            .set('Authorization', bearer(admin))
            .expect(400);
          expect(response.body).toEqual({
            statusCode: 400,
            error: 'Bad Request',
            message: expect.any(Array),
            code: 'validation_failed',
            fields: ['id'],
          });
        }
        expect(await meWith(login)).toEqual(LIVE);
      },
    );

    it('answers 403 forbidden to a user without the admin role, on both routes, revoking nothing', async () => {
      const normal = await loginBearer((await register()).email);
      const target = await register();
      const targetLogin = await loginBearer(target.email);
      for (const method of ['get', 'delete'] as const) {
        const response = await request(demo.url)[method](`/api/admin/users/${target.id}/sessions`)
          .set('Authorization', bearer(normal))
          .expect(403);
        expect(response.body).toMatchObject({ statusCode: 403, code: 'forbidden' });
      }
      // Not even on its own id.
      const self = await request(demo.url).get(`/api/me`).set('Authorization', bearer(normal)).expect(200);
      await request(demo.url)
        .get(`/api/admin/users/${self.body.id}/sessions`)
        .set('Authorization', bearer(normal))
        .expect(403);
      expect(await meWith(targetLogin)).toEqual(LIVE);
      expect(await meWith(normal)).toEqual(LIVE);
    });

    it('answers 401 token_missing without a token, on both routes', async () => {
      for (const method of ['get', 'delete'] as const) {
        const response = await request(demo.url)[method](`/api/admin/users/${randomUUID()}/sessions`).expect(401);
        expect(response.body.code).toBe('token_missing');
      }
    });
  });

  describe('OpenAPI document', () => {
    it('documents the five new operations with their failures and security', async () => {
      const response = await request(demo.url).get('/docs-json').expect(200);
      const paths = response.body.paths as Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown[] }>>;
      const operations: Array<[string, string, string[]]> = [
        ['/auth/logout-all', 'post', ['204', '400', '401']],
        ['/auth/sessions', 'get', ['200', '401']],
        ['/auth/sessions/{id}', 'delete', ['204', '401', '404']],
        ['/api/admin/users/{id}/sessions', 'get', ['200', '400', '401', '403']],
        ['/api/admin/users/{id}/sessions', 'delete', ['204', '400', '401', '403']],
      ];
      for (const [path, method, statuses] of operations) {
        const operation = paths[path]?.[method];
        expect({ path, method, found: operation !== undefined }).toEqual({ path, method, found: true });
        expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(statuses));
        expect(operation.security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'access-cookie': [] }]));
      }
      const schemas = response.body.components.schemas;
      expect(schemas.LogoutAllDto.properties.keepCurrent.type).toBe('boolean');
      expect(Object.keys(schemas.SessionListItem.properties).sort()).toEqual(VIEW_FIELDS);
    });
  });
});
