import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { FakeClock } from '../../testing';
import { Browser, ROUTES_ORIGIN } from '../../../test/support/route-clients';
import { TestLoginController } from '../../../test/support/login.controller';
import { START } from '../../../test/support/session-module';
import { RequireFreshSession } from '../decorators/require-fresh-session.decorator';
import { SessionConfigError } from '../exceptions/session-config.error';
import type { RevocationMode } from '../interfaces/session-module-options.interface';
import { validateSessionOptions } from '../options/session-options';
import { SessionEndpoints } from '../services/session-endpoints.service';
import { SessionService } from '../services/session.service';
import { SessionModule } from '../session.module';
import { SessionRoutesModule } from '../routes/session-routes.module';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { CsrfGuard } from './csrf.guard';
import { SessionGuard } from './session.guard';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const jwtSecret = 'fresh-session-spec-jwt-secret-0123456789ab';
const sessionSecret = 'fresh-session-spec-session-secret-01234567';
const CHALLENGE = /^Bearer error="insufficient_user_authentication", error_description="[^"]+", max_age=(\d+)$/;

@Controller()
class SensitiveController {
  constructor(private readonly endpoints: SessionEndpoints) {}

  @Get('open')
  open() {
    return { ok: true };
  }

  // The module default (`freshSessionMaxAge`: 2m here).
  @RequireFreshSession()
  @Get('sensitive')
  sensitive() {
    return { ok: true };
  }

  @RequireFreshSession('30s')
  @Get('very-sensitive')
  verySensitive() {
    return { ok: true };
  }

  // What an app's step-up route does once it has checked the password again.
  @Post('auth/reauthenticate')
  @HttpCode(200)
  reauthenticate(@Req() req: object, @Res({ passthrough: true }) res: object) {
    return this.endpoints.reauthenticated(req, res);
  }
}

@RequireFreshSession('1m')
@Controller('admin')
class FreshController {
  @Get('a')
  a() {
    return { ok: true };
  }

  // The handler's own requirement wins over the controller's.
  @RequireFreshSession('5m')
  @Get('b')
  b() {
    return { ok: true };
  }
}

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<string, unknown>;
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

describe('@RequireFreshSession (step-up: OIDC Core auth_time, RFC 9470)', () => {
  const running: INestApplication[] = [];

  async function boot(revocationMode: RevocationMode, store = new InMemorySessionStore(), clock = new FakeClock(START)) {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          jwtSecret,
          sessionSecret,
          clock,
          store,
          revocationMode,
          freshSessionMaxAge: '2m',
          accessTokenTtl: '1h',
          csrf: { allowedOrigins: [ROUTES_ORIGIN] },
          isGlobal: true,
        }),
        SessionRoutesModule.forRoot(),
      ],
      controllers: [TestLoginController, SensitiveController, FreshController],
      providers: [
        { provide: APP_GUARD, useExisting: SessionGuard },
        { provide: APP_GUARD, useExisting: CsrfGuard },
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    running.push(app);
    await app.init();
    return { app, clock, http: app.getHttpServer(), sessions: app.get(SessionService) };
  }

  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  const bearerGet = (http: unknown, path: string, token: string) =>
    request(http as Parameters<typeof request>[0]).get(path).set('Authorization', `Bearer ${token}`);

  describe.each(['stateless', 'cached', 'strict'] as const)('%s mode', (mode) => {
    it('lets a fresh session through, and refuses a stale one with 401 reauthentication_required and the RFC 9470 challenge', async () => {
      const { http, clock, sessions } = await boot(mode);
      const login = await sessions.create({ id: 'u1' });
      await bearerGet(http, '/sensitive', login.accessToken).expect(200);
      clock.advance(2 * MINUTE);
      await bearerGet(http, '/sensitive', login.accessToken).expect(200);
      clock.advance(SECOND);
      const stale = await bearerGet(http, '/sensitive', login.accessToken).expect(401);
      expect(stale.body).toMatchObject({ statusCode: 401, code: 'reauthentication_required' });
      expect(stale.headers['www-authenticate']).toMatch(CHALLENGE);
      expect(CHALLENGE.exec(stale.headers['www-authenticate'])?.[1]).toBe('120');
      // Authentication itself still holds: routes without the requirement answer.
      await bearerGet(http, '/open', login.accessToken).expect(200);
    });

    it('measures each route against its own maximum age, the handler winning over the controller', async () => {
      const { http, clock, sessions } = await boot(mode);
      const login = await sessions.create({ id: 'u1' });
      clock.advance(45 * SECOND);
      const refused = await bearerGet(http, '/very-sensitive', login.accessToken).expect(401);
      expect(CHALLENGE.exec(refused.headers['www-authenticate'])?.[1]).toBe('30');
      await bearerGet(http, '/admin/a', login.accessToken).expect(200);
      clock.advance(30 * SECOND);
      expect(CHALLENGE.exec((await bearerGet(http, '/admin/a', login.accessToken).expect(401)).headers['www-authenticate'])?.[1]).toBe('60');
      await bearerGet(http, '/admin/b', login.accessToken).expect(200);
    });

    it('markAuthenticated makes a stale session fresh again: same session id, a new access token, the refresh chain kept', async () => {
      const { http, clock, sessions } = await boot(mode);
      const login = await sessions.create({ id: 'u1' });
      clock.advance(10 * MINUTE);
      await bearerGet(http, '/sensitive', login.accessToken).expect(401);
      const step = await request(http).post('/auth/reauthenticate').set('Authorization', `Bearer ${login.accessToken}`).expect(200);
      expect(Object.keys(step.body).sort()).toEqual(['accessToken', 'expiresIn', 'tokenType']);
      expect(claimsOf(step.body.accessToken)).toMatchObject({ sid: login.session.id, auth_time: seconds(clock.now()) });
      await bearerGet(http, '/sensitive', step.body.accessToken).expect(200);
      const record = await sessions.listForUser('u1');
      expect(record.map((session) => session.id)).toEqual([login.session.id]);
      expect(record[0].authenticatedAt).toEqual(clock.now());
      expect(record[0].generation).toBe(0);
      // The old access token: its own, older auth_time outside strict mode (staler, never
      // fresher); in strict mode the record's, so it is fresh too.
      await bearerGet(http, '/sensitive', login.accessToken).expect(mode === 'strict' ? 200 : 401);
      // The refresh token of the login still works, and the refreshed token stays fresh.
      const refreshed = await sessions.refresh(login.refreshToken);
      expect(refreshed.session.id).toBe(login.session.id);
      expect(claimsOf(refreshed.accessToken).auth_time).toBe(seconds(clock.now()));
      await bearerGet(http, '/sensitive', refreshed.accessToken).expect(200);
    });

    it('cookie mode: the same 401 without a bearer challenge; re-authenticating re-sets the access cookie and the CSRF token', async () => {
      const { http, clock } = await boot(mode);
      const browser = new Browser(http);
      await browser.login('u1').then((response) => expect(response.status).toBe(200));
      const sessionCookieBefore = browser.jar.get('__Secure-tessera-rt');
      expect((await browser.get('/sensitive')).status).toBe(200);
      clock.advance(3 * MINUTE);
      const stale = await browser.get('/sensitive');
      expect(stale.status).toBe(401);
      expect(stale.body.code).toBe('reauthentication_required');
      expect(stale.headers['www-authenticate']).toBeUndefined();
      const csrfBefore = browser.jar.get('__Host-tessera-csrf');
      const step = await browser.send('post', '/auth/reauthenticate');
      expect(step.status).toBe(200);
      expect(step.body).toEqual({ csrfToken: expect.any(String), expiresIn: 3600 });
      expect(step.headers['cache-control']).toBe('no-store');
      const setCookies = ([] as string[]).concat(step.headers['set-cookie'] ?? []);
      expect(setCookies.some((cookie) => cookie.startsWith('__Host-tessera-at='))).toBe(true);
      expect(setCookies.some((cookie) => cookie.startsWith('__Secure-tessera-rt='))).toBe(false);
      expect(browser.jar.get('__Host-tessera-csrf')).toBe(step.body.csrfToken);
      expect(step.body.csrfToken).not.toBe(csrfBefore);
      expect(browser.jar.get('__Secure-tessera-rt')).toBe(sessionCookieBefore);
      expect((await browser.get('/sensitive')).status).toBe(200);
      // The refresh cookie still rotates, and freshness survives it.
      expect((await browser.send('post', '/auth/refresh')).status).toBe(200);
      expect((await browser.get('/sensitive')).status).toBe(200);
    });
  });

  it('puts auth_time (seconds) in the access token, and a refresh keeps it, never moving it forward', async () => {
    const { clock, sessions } = await boot('cached');
    clock.advance(1_500);
    const loginAt = clock.now();
    const login = await sessions.create({ id: 'u1' });
    expect(login.session.authenticatedAt).toEqual(loginAt);
    expect(claimsOf(login.accessToken).auth_time).toBe(seconds(loginAt));
    let refreshToken = login.refreshToken;
    for (let i = 0; i < 3; i += 1) {
      clock.advance(7 * MINUTE);
      const refreshed = await sessions.refresh(refreshToken);
      refreshToken = refreshed.refreshToken;
      const claims = claimsOf(refreshed.accessToken);
      expect(claims.auth_time).toBe(seconds(loginAt));
      expect(claims.iat).toBe(seconds(clock.now()));
      expect(refreshed.session.authenticatedAt).toEqual(loginAt);
    }
  });

  it('a refresh of a stale session stays stale (only a credential makes it fresh)', async () => {
    const { http, clock, sessions } = await boot('cached');
    const login = await sessions.create({ id: 'u1' });
    clock.advance(5 * MINUTE);
    const refreshed = await sessions.refresh(login.refreshToken);
    expect((await bearerGet(http, '/sensitive', refreshed.accessToken).expect(401)).body.code).toBe('reauthentication_required');
  });

  it('a reissue keeps the session exactly as fresh; a login of another user never inherits freshness', async () => {
    const { http, clock, sessions } = await boot('cached');
    const first = await sessions.create({ id: 'u1' });
    clock.advance(90 * SECOND);
    const other = await sessions.create({ id: 'u2' });
    const reissued = await sessions.reissue(first.session.id);
    expect(reissued.session.id).not.toBe(first.session.id);
    expect(reissued.session.authenticatedAt).toEqual(first.session.authenticatedAt);
    expect(claimsOf(reissued.accessToken).auth_time).toBe(seconds(first.session.authenticatedAt));
    clock.advance(60 * SECOND);
    // u1 logged in 150 s ago: stale, reissued or not; u2's own login, 60 s ago, is fresh.
    await bearerGet(http, '/sensitive', reissued.accessToken).expect(401);
    await bearerGet(http, '/sensitive', other.accessToken).expect(200);
    // u1 steps up; u2's session is not touched by it.
    await sessions.markAuthenticated(reissued.session.id);
    clock.advance(70 * SECOND);
    await bearerGet(http, '/sensitive', other.accessToken).expect(401);
    expect(claimsOf(other.accessToken).auth_time).toBe(seconds(other.session.authenticatedAt));
  });

  it('a browser that signs in as another user gets that login\'s time, not the previous session\'s', async () => {
    const { http, clock } = await boot('cached');
    const browser = new Browser(http);
    await browser.login('u1');
    clock.advance(5 * MINUTE);
    expect((await browser.get('/sensitive')).status).toBe(401);
    await browser.login('u2');
    expect((await browser.get('/sensitive')).status).toBe(200);
  });

  it('markAuthenticated refuses a revoked or an expired session, and never moves authenticatedAt backwards', async () => {
    const store = new InMemorySessionStore();
    const { clock, sessions } = await boot('cached', store);
    const revoked = await sessions.create({ id: 'u1' });
    await sessions.revoke(revoked.session.id);
    await expect(sessions.markAuthenticated(revoked.session.id)).rejects.toMatchObject({ code: 'session_revoked' });
    await expect(sessions.markAuthenticated('unknown-session-id-000000')).rejects.toMatchObject({ code: 'session_revoked' });
    const idle = await sessions.create({ id: 'u1' });
    clock.advance(8 * 24 * 60 * MINUTE);
    await expect(sessions.markAuthenticated(idle.session.id)).rejects.toMatchObject({ code: 'session_expired' });
    expect((await store.findById(idle.session.id))?.authenticatedAt).toEqual(idle.session.authenticatedAt);
  });

  it('treats a token without auth_time as stale', async () => {
    const { app, http } = await boot('stateless');
    const { AccessTokenService } = await import('../services/access-token.service');
    const token = app.get(AccessTokenService).sign({ userId: 'u1', sessionId: 'legacy-session-id-0000000', roles: [] }).token;
    await bearerGet(http, '/open', token).expect(200);
    expect((await bearerGet(http, '/sensitive', token).expect(401)).body.code).toBe('reauthentication_required');
  });

  it('validates the option and the decorator\'s argument', () => {
    expect(() => validateSessionOptions({ jwtSecret, sessionSecret, store: new InMemorySessionStore(), freshSessionMaxAge: 'soon' })).toThrow(
      SessionConfigError,
    );
    expect(() => validateSessionOptions({ jwtSecret, sessionSecret, store: new InMemorySessionStore(), freshSessionMaxAge: 0 })).toThrow(
      /freshSessionMaxAge/,
    );
    expect(() => RequireFreshSession('ten minutes')).toThrow(/RequireFreshSession/);
    expect(() => RequireFreshSession(-5)).toThrow(/RequireFreshSession/);
  });
});
