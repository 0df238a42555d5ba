import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import request from 'supertest';
import type { Response } from 'supertest';
import { setCookiesOf } from '@tessera/testing-support';
import { FakeClock } from '../../testing';
import { Public } from '../decorators/public.decorator';
import { CsrfGuard } from '../guards/csrf.guard';
import { SessionGuard } from '../guards/session.guard';
import { SessionActivityInterceptor } from '../interceptors/session-activity.interceptor';
import type { RevocationMode } from '../interfaces/session-module-options.interface';
import { SessionEndpoints } from '../services/session-endpoints.service';
import { OutageSessionStore } from '../../../test/support/outage-session.store';
import { compileSessionModule } from '../../../test/support/session-module';
import { Browser, ROUTES_ORIGIN as ORIGIN, bearerLogin } from '../../../test/support/route-clients';
import { SessionRoutesModule } from './session-routes.module';

const ACCESS_COOKIE = '__Host-tessera-at';
const REFRESH_COOKIE = '__Secure-tessera-rt';
const CSRF_COOKIE = '__Host-tessera-csrf';
const STORE_UNAVAILABLE = {
  statusCode: 503,
  error: 'Service Unavailable',
  message: 'Session store is unavailable; try again shortly',
  code: 'store_unavailable',
};

/** The app's own part: a login that checks nothing, and a route with nothing of its own. */
@Controller()
class AppController {
  constructor(private readonly endpoints: SessionEndpoints) {}

  @Public()
  @Post('auth/login')
  @HttpCode(200)
  login(@Body() body: { user?: string }, @Req() request: object, @Res({ passthrough: true }) response: object) {
    return this.endpoints.login(request, response, { id: body?.user ?? 'user-1', roles: ['user'] });
  }

  @Get('probe')
  probe() {
    return { ok: true };
  }
}

interface Booted {
  app: INestApplication;
  clock: FakeClock;
  store: OutageSessionStore;
  http: ReturnType<INestApplication['getHttpServer']>;
}

const running: INestApplication[] = [];

/** The app as the demo mounts it: global guards and activity interceptor, the library's routes. */
async function boot(revocationMode: RevocationMode): Promise<Booted> {
  const store = new OutageSessionStore();
  const { moduleRef, clock } = await compileSessionModule(
    {
      isGlobal: true,
      jwtSecret: 'outage-spec-jwt-secret-0123456789-abcdefgh',
      sessionSecret: 'outage-spec-session-secret-0123456789-abcd',
      store,
      revocationMode,
      csrf: { allowedOrigins: [ORIGIN] },
    },
    {
      imports: [SessionRoutesModule.forRoot()],
      controllers: [AppController],
      providers: [
        { provide: APP_GUARD, useExisting: SessionGuard },
        { provide: APP_GUARD, useExisting: CsrfGuard },
        { provide: APP_INTERCEPTOR, useExisting: SessionActivityInterceptor },
      ],
    },
  );
  const app = moduleRef.createNestApplication({ logger: false });
  running.push(app);
  await app.init();
  return { app, clock, store, http: app.getHttpServer() };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});


/** The designed outage answer: 503 `store_unavailable`, `Retry-After`, no challenge, no cookie touched. */
function expectStoreUnavailable(response: Response, label = ''): void {
  expect({ label, status: response.status, body: response.body }).toEqual({ label, status: 503, body: STORE_UNAVAILABLE });
  expect({ label, retryAfter: response.headers['retry-after'] }).toEqual({ label, retryAfter: '2' });
  expect({ label, challenge: response.headers['www-authenticate'] }).toEqual({ label, challenge: undefined });
  expect({ label, cookies: response.headers['set-cookie'], clearSiteData: response.headers['clear-site-data'] }).toEqual({
    label,
    cookies: undefined,
    clearSiteData: undefined,
  });
}

describe('a session-store outage over HTTP', () => {
  describe('strict mode', () => {
    it('answers an authenticated request 503 store_unavailable with Retry-After, bearer or cookie; 200 once the store is back', async () => {
      const { http, store } = await boot('strict');
      const { accessToken } = await bearerLogin(http);
      store.down = true;
      expectStoreUnavailable(await request(http).get('/probe').set('Authorization', `Bearer ${accessToken}`), 'bearer');
      expectStoreUnavailable(await request(http).get('/probe').set('Cookie', `${ACCESS_COOKIE}=${accessToken}`), 'cookie');
      expect(store.refused).toEqual(['findById', 'findById']);
      store.down = false;
      await request(http).get('/probe').set('Authorization', `Bearer ${accessToken}`).expect(200);
    });

    it('still answers a token that is invalid on its face 401, without asking the store', async () => {
      const { http, store } = await boot('strict');
      store.down = true;
      const response = await request(http).get('/probe').set('Authorization', 'Bearer not-a-token');
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'token_invalid' });
      expect(store.refused).toEqual([]);
    });
  });

  it.each(['cached', 'stateless'] as const)(
    '%s mode: a valid access token keeps working, and the activity record fails open',
    async (mode) => {
      const { http, store } = await boot(mode);
      const { accessToken } = await bearerLogin(http);
      store.down = true;
      const response = await request(http).get('/probe').set('Authorization', `Bearer ${accessToken}`);
      expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { ok: true } });
      // The request did reach the store (the activity interceptor's touch), which refused it.
      expect(store.refused).toEqual(['touch']);
    },
  );

  describe('session routes (cached mode)', () => {
    let booted: Booted;

    beforeEach(async () => {
      booted = await boot('cached');
    });

    it('refresh: 503 in bearer and cookie mode; nothing rotated, so the same tokens work after recovery', async () => {
      const { http, store, clock } = booted;
      const bearer = await bearerLogin(http);
      const browser = new Browser(http);
      expect((await browser.login()).status).toBe(200);
      const cookieRefreshToken = browser.jar.get(REFRESH_COOKIE);
      store.down = true;
      expectStoreUnavailable(
        await request(http).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: bearer.refreshToken }),
        'bearer',
      );
      expectStoreUnavailable(await browser.send('post', '/auth/refresh'), 'cookie');
      expect(store.refused).toEqual(['rotateRefresh', 'rotateRefresh']);
      store.down = false;
      // Past the reuse grace: had the failed call rotated the token, presenting it now would
      // be reuse (401 refresh_token_reused, session revoked).
      clock.advance(60_000);
      const retried = await request(http).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: bearer.refreshToken });
      expect({ status: retried.status, session: retried.body.session?.id }).toEqual({ status: 200, session: bearer.sessionId });
      expect(browser.jar.get(REFRESH_COOKIE)).toBe(cookieRefreshToken);
      expect((await browser.send('post', '/auth/refresh')).status).toBe(200);
    });

    it('logout: 503 with the cookies kept (nothing was revoked); after recovery logout works and the session ends', async () => {
      const { http, store } = booted;
      const browser = new Browser(http);
      expect((await browser.login()).status).toBe(200);
      const bearer = await bearerLogin(http, 'user-2');
      store.down = true;
      expectStoreUnavailable(await browser.send('post', '/auth/logout'), 'cookie');
      expectStoreUnavailable(await request(http).post('/auth/logout').set('Authorization', `Bearer ${bearer.accessToken}`), 'bearer');
      expect(store.refused.filter((call) => call === 'revoke')).toEqual(['revoke', 'revoke']);
      // Not revoked: the access token still works during the outage.
      expect((await browser.get('/probe')).status).toBe(200);
      store.down = false;
      const logout = await browser.send('post', '/auth/logout');
      expect(logout.status).toBe(204);
      expect(setCookiesOf(logout).map((cookie) => [cookie.name, cookie.value])).toEqual(
        expect.arrayContaining([[ACCESS_COOKIE, ''], [REFRESH_COOKIE, '']]),
      );
      await request(http).post('/auth/logout').set('Authorization', `Bearer ${bearer.accessToken}`).expect(204);
      const after = await request(http).get('/probe').set('Authorization', `Bearer ${bearer.accessToken}`);
      expect({ status: after.status, code: after.body.code }).toEqual({ status: 401, code: 'session_revoked' });
    });

    it('logout-all, sessions, revoke one, login and a CSRF token that needs the store: 503, then work after recovery', async () => {
      const { http, store } = booted;
      const browser = new Browser(http);
      expect((await browser.login()).status).toBe(200);
      const other = await bearerLogin(http);
      const auth = `Bearer ${other.accessToken}`;
      store.down = true;
      expectStoreUnavailable(await request(http).post('/auth/logout-all').set('Authorization', auth), 'logout-all');
      expectStoreUnavailable(await request(http).post('/auth/logout-all').set('Authorization', auth).send({ keepCurrent: true }), 'logout-all keep');
      expectStoreUnavailable(await request(http).get('/auth/sessions').set('Authorization', auth), 'sessions');
      expectStoreUnavailable(await browser.get('/auth/sessions'), 'sessions (cookie)');
      expectStoreUnavailable(await request(http).delete(`/auth/sessions/${other.sessionId}`).set('Authorization', auth), 'revoke');
      expectStoreUnavailable(await request(http).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ user: 'user-1' }), 'login');
      // A page whose access cookie has gone: binding its CSRF token means reading the session of its refresh cookie.
      const csrf = await request(http)
        .get('/auth/csrf')
        .set('Cookie', `${REFRESH_COOKIE}=${browser.jar.get(REFRESH_COOKIE)}; ${CSRF_COOKIE}=${browser.jar.get(CSRF_COOKIE)}`);
      expectStoreUnavailable(csrf, 'csrf');
      expect(store.refused).toEqual(expect.arrayContaining(['revokeByUser', 'listByUser', 'findById', 'create']));

      store.down = false;
      const listed = await request(http).get('/auth/sessions').set('Authorization', auth).expect(200);
      expect(listed.body).toHaveLength(2); // nothing was revoked, no third session was made
      await request(http)
        .get('/auth/csrf')
        .set('Cookie', `${REFRESH_COOKIE}=${browser.jar.get(REFRESH_COOKIE)}; ${CSRF_COOKIE}=${browser.jar.get(CSRF_COOKIE)}`)
        .expect(200);
      await request(http).delete(`/auth/sessions/${other.sessionId}`).set('Authorization', auth).expect(204);
      await request(http).post('/auth/logout-all').set('Authorization', `Bearer ${(await bearerLogin(http)).accessToken}`).expect(204);
      expect((await browser.get('/probe')).body.code).toBe('session_revoked');
    });
  });
});
