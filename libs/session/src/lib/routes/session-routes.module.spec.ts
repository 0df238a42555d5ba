import { Controller, Get, Injectable, Module } from '@nestjs/common';
import type { CanActivate, ExecutionContext, INestApplication, ModuleMetadata, Provider } from '@nestjs/common';
import { APP_GUARD, RouterModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { FakeClock } from '../../testing';
import { setCookiesOf } from '@tessera/testing-support';
import { SessionConfigError } from '../exceptions/session-config.error';
import { CsrfGuard } from '../guards/csrf.guard';
import { SessionGuard } from '../guards/session.guard';
import { SessionStore } from '../interfaces/session-store.interface';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface';
import { CsrfService } from '../services/csrf.service';
import { SessionModule } from '../session.module';
import { sessionOf } from '../utils/session-request.util';
import { Browser, ROUTES_ORIGIN as ORIGIN, bearerLogin } from '../../../test/support/route-clients';
import { SessionRoutesModule } from './session-routes.module';
import type { SessionRoutesOptions } from './session-routes.options';
import { TestLoginController } from '../../../test/support/login.controller';

const jwtSecret = 'routes-spec-jwt-secret-0123456789-abcdefgh';
const sessionSecret = 'routes-spec-session-secret-0123456789-abcd';
const START = new Date('2030-01-01T00:00:00.000Z');
const ACCESS_COOKIE = '__Host-tessera-at';
const REFRESH_COOKIE = '__Secure-tessera-rt';
const CSRF_COOKIE = '__Host-tessera-csrf';
const SESSION_NOT_FOUND = { statusCode: 404, error: 'Not Found', message: 'No such session', code: 'session_not_found' };
const VIEW_FIELDS = ['createdAt', 'current', 'device', 'expiresAt', 'id', 'ip', 'lastSeenAt', 'userAgent'];

/** What the app would serve at a path whose library route it turned off. */
@Controller('auth')
class OwnSessionsController {
  @Get('sessions')
  own() {
    return { own: true };
  }
}

/** A provider an extra guard needs, to show guards are built through DI. */
@Injectable()
class Gatekeeper {
  readonly seen: Array<{ path: string; authenticated: boolean }> = [];
}

/** Refuses requests carrying `X-Deny`; records whether Tessera's guards ran before it. */
@Injectable()
class DenyGuard implements CanActivate {
  constructor(private readonly gatekeeper: Gatekeeper) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ path: string; headers: Record<string, string> }>();
    this.gatekeeper.seen.push({ path: request.path, authenticated: sessionOf(request) !== undefined });
    return request.headers['x-deny'] === undefined;
  }
}

/** Refuses every request: for routes an app locks down further. */
@Injectable()
class ClosedGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** Provides and exports `Gatekeeper` globally, as an app's own module would. */
@Module({ providers: [Gatekeeper], exports: [Gatekeeper] })
class GatekeeperModule {}

interface BootOptions {
  routes?: SessionRoutesOptions;
  session?: Partial<SessionModuleOptions>;
  /** Mount SessionGuard and CsrfGuard as APP_GUARD, as the demo does. Default: false. */
  globalGuards?: boolean;
  /** Register SessionModule globally. Default: true. */
  isGlobal?: boolean;
  globalPrefix?: string;
  controllers?: ModuleMetadata['controllers'];
  imports?: ModuleMetadata['imports'];
  providers?: Provider[];
}

interface Booted {
  app: INestApplication;
  clock: FakeClock;
  http: ReturnType<INestApplication['getHttpServer']>;
}

const running: INestApplication[] = [];

async function boot(options: BootOptions = {}): Promise<Booted> {
  const clock = new FakeClock(START);
  const moduleRef = await Test.createTestingModule({
    imports: [
      SessionModule.forRoot({
        isGlobal: options.isGlobal ?? true,
        jwtSecret,
        sessionSecret,
        clock,
        csrf: { allowedOrigins: [ORIGIN] },
        ...options.session,
      }),
      SessionRoutesModule.forRoot(options.routes),
      { module: GatekeeperModule, global: true },
      ...(options.imports ?? []),
    ],
    controllers: [TestLoginController, ...(options.controllers ?? [])],
    providers: [
      ...(options.globalGuards
        ? [
            { provide: APP_GUARD, useExisting: SessionGuard },
            { provide: APP_GUARD, useExisting: CsrfGuard },
          ]
        : []),
      ...(options.providers ?? []),
    ],
  }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  if (options.globalPrefix) app.setGlobalPrefix(options.globalPrefix);
  running.push(app);
  await app.init();
  return { app, clock, http: app.getHttpServer() };
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
  jest.restoreAllMocks();
});


describe.each([
  ['guards mounted globally', true],
  ['no global guards', false],
])('SessionRoutesModule over HTTP (%s)', (_label, globalGuards) => {
  let booted: Booted;

  beforeEach(async () => {
    booted = await boot({ globalGuards });
  });

  it('runs the cookie-mode flow: csrf, login, sessions, refresh, revoke one, logout-all, logout', async () => {
    const browser = new Browser(booted.http);
    const csrf = await browser.get('/auth/csrf');
    expect(csrf.status).toBe(200);
    expect(csrf.headers['cache-control']).toBe('no-store');
    expect(csrf.body).toEqual({ csrfToken: browser.jar.get(CSRF_COOKIE) });

    const login = await browser.send('post', '/auth/login', { user: 'ada' });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({
      user: { id: 'ada', email: 'ada@example.com', roles: ['user'] },
      session: { id: expect.any(String), expiresAt: expect.any(String) },
      csrfToken: browser.jar.get(CSRF_COOKIE),
      expiresIn: 600,
    });
    const refreshCookie = setCookiesOf(login).find((cookie) => cookie.name === REFRESH_COOKIE);
    expect(refreshCookie?.attributes.path).toBe('/auth');

    booted.clock.advance(1_000); // oldest first: the cookie session, then this one
    const other = await bearerLogin(booted.http, 'ada');
    const list = await browser.get('/auth/sessions');
    expect(list.status).toBe(200);
    expect(list.headers['cache-control']).toBe('no-store');
    expect(list.body.map((item: { id: string }) => item.id)).toEqual([login.body.session.id, other.sessionId]);
    for (const item of list.body) expect(Object.keys(item).sort()).toEqual(VIEW_FIELDS);
    expect(list.body.map((item: { current: boolean }) => item.current)).toEqual([true, false]);

    booted.clock.advance(1_000);
    const refreshed = await browser.send('post', '/auth/refresh');
    expect(refreshed.status).toBe(200);
    expect(refreshed.headers['cache-control']).toBe('no-store');
    // Until a resolveUser hook says otherwise, a refresh knows the session's id and roles only.
    expect(refreshed.body.user).toEqual(expect.objectContaining({ id: 'ada', roles: ['user'] }));
    expect(refreshed.body.csrfToken).toBe(browser.jar.get(CSRF_COOKIE));

    const revoked = await browser.send('delete', `/auth/sessions/${other.sessionId}`);
    expect(revoked.status).toBe(204);
    expect(revoked.headers['set-cookie']).toBeUndefined();
    const gone = await request(booted.http).get('/auth/sessions').set('Authorization', `Bearer ${other.accessToken}`);
    expect({ status: gone.status, code: gone.body.code }).toEqual({ status: 401, code: 'session_revoked' });
    expect((await browser.send('delete', `/auth/sessions/${other.sessionId}`)).body).toEqual(SESSION_NOT_FOUND);

    const third = await bearerLogin(booted.http, 'ada');
    const kept = await browser.send('post', '/auth/logout-all', { keepCurrent: true });
    expect(kept.status).toBe(204);
    expect(kept.headers['set-cookie']).toBeUndefined();
    expect((await request(booted.http).get('/auth/sessions').set('Authorization', `Bearer ${third.accessToken}`)).status).toBe(401);
    expect((await browser.get('/auth/sessions')).status).toBe(200);

    const logout = await browser.send('post', '/auth/logout');
    expect(logout.status).toBe(204);
    expect(logout.headers['clear-site-data']).toBe('"cookies"');
    const cleared = setCookiesOf(logout).map((cookie) => [cookie.name, cookie.value]);
    expect(cleared).toEqual(expect.arrayContaining([[ACCESS_COOKIE, ''], [REFRESH_COOKIE, ''], [CSRF_COOKIE, '']]));
    expect((await browser.get('/auth/sessions')).body.code).toBe('token_missing');
  });

  it('runs the bearer-mode flow, with WWW-Authenticate on a refused refresh', async () => {
    const login = await request(booted.http).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ user: 'bob' }).expect(200);
    expect(login.headers['set-cookie']).toBeUndefined();
    expect(login.body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 600,
      user: { id: 'bob', email: 'bob@example.com', roles: ['user'] },
      session: { id: expect.any(String), expiresAt: expect.any(String) },
    });
    const refreshed = await request(booted.http)
      .post('/auth/refresh')
      .set('X-Auth-Mode', 'bearer')
      .send({ refreshToken: login.body.refreshToken })
      .expect(200);
    expect(refreshed.body).toEqual(expect.objectContaining({ tokenType: 'Bearer', refreshToken: expect.any(String) }));
    expect(refreshed.headers['set-cookie']).toBeUndefined();

    const refused = await request(booted.http).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: 'nope' });
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'invalid_refresh_token' });
    expect(refused.headers['www-authenticate']).toBe('Bearer error="invalid_token"');

    const bearer = `Bearer ${refreshed.body.accessToken}`;
    await request(booted.http).post('/auth/logout-all').set('Authorization', bearer).expect(204);
    const after = await request(booted.http).post('/auth/logout').set('Authorization', bearer);
    expect({ status: after.status, code: after.body.code }).toEqual({ status: 401, code: 'session_revoked' });
    expect(after.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
  });

  it('authenticates every non-public route, and checks CSRF on the unsafe ones', async () => {
    for (const [method, path] of [
      ['get', '/auth/sessions'],
      ['post', '/auth/logout'],
      ['post', '/auth/logout-all'],
      ['delete', `/auth/sessions/${randomBytes(16).toString('base64url')}`],
    ] as const) {
      const response = await request(booted.http)[method](path);
      expect({ path, status: response.status, code: response.body.code }).toEqual({ path, status: 401, code: 'token_missing' });
    }

    const browser = new Browser(booted.http);
    await browser.login();
    for (const [method, path] of [
      ['post', '/auth/logout'],
      ['post', '/auth/logout-all'],
      ['post', '/auth/refresh'],
      ['delete', `/auth/sessions/${randomBytes(16).toString('base64url')}`],
    ] as const) {
      // The browser's cookies, without the CSRF header: what a cross-site form would send.
      const forged = await request(booted.http)[method](path).set('Cookie', browser.jar.header(path)).set('Origin', ORIGIN);
      expect({ path, status: forged.status, code: forged.body.code }).toEqual({ path, status: 403, code: 'csrf_failed' });
      const crossSite = await request(booted.http)[method](path)
        .set('Cookie', browser.jar.header(path))
        .set('X-CSRF-Token', String(browser.jar.get(CSRF_COOKIE)))
        .set('Origin', 'https://evil.example');
      expect({ path, status: crossSite.status }).toEqual({ path, status: 403 });
    }
    expect((await browser.get('/auth/sessions')).status).toBe(200);
  });

  describe('bodies: 400 validation_failed naming the field, as the demo answers', () => {
    const refused = (messages: string[], fields: string[]) => ({
      statusCode: 400,
      error: 'Bad Request',
      message: messages,
      code: 'validation_failed',
      fields,
    });

    it.each<[string, unknown, string[], string[]]>([
      ['a number', { refreshToken: 5 }, ['refreshToken must be a string'], ['refreshToken']],
      ['an object', { refreshToken: { $ne: null } }, ['refreshToken must be a string'], ['refreshToken']],
      [
        'a string over 256 characters',
        { refreshToken: 'a'.repeat(257) },
        ['refreshToken must be shorter than or equal to 256 characters'],
        ['refreshToken'],
      ],
      ['an unknown field', { refreshToken: 'x', admin: true }, ['property admin should not exist'], ['admin']],
      ['an array', [1, 2], ['body must be a JSON object'], ['body']],
    ])('refresh refuses %s', async (_label, body, messages, fields) => {
      const response = await request(booted.http).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send(body as object);
      expect(response.status).toBe(400);
      expect(response.body).toEqual(refused(messages, fields));
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('refresh takes a null or absent token as none (401), and a long valid-looking one as invalid', async () => {
      for (const body of [{ refreshToken: null }, {}, undefined]) {
        const pending = request(booted.http).post('/auth/refresh').set('X-Auth-Mode', 'bearer');
        const response = await (body === undefined ? pending : pending.send(body));
        expect({ status: response.status, code: response.body.code }).toEqual({ status: 401, code: 'invalid_refresh_token' });
      }
      const longest = await request(booted.http).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: 'a'.repeat(256) });
      expect(longest.status).toBe(401);
    });

    it.each<[string, unknown, string[], string[]]>([
      ['null', { keepCurrent: null }, ['keepCurrent must be a boolean value'], ['keepCurrent']],
      ['a string', { keepCurrent: 'true' }, ['keepCurrent must be a boolean value'], ['keepCurrent']],
      ['a number', { keepCurrent: 1 }, ['keepCurrent must be a boolean value'], ['keepCurrent']],
      [
        'an unknown field',
        { keepCurrent: true, everyone: true },
        ['property everyone should not exist'],
        ['everyone'],
      ],
      ['an array', [true], ['body must be a JSON object'], ['body']],
    ])('logout-all refuses %s, revoking nothing', async (_label, body, messages, fields) => {
      const current = await bearerLogin(booted.http, 'carol');
      const other = await bearerLogin(booted.http, 'carol');
      const response = await request(booted.http)
        .post('/auth/logout-all')
        .set('Authorization', `Bearer ${current.accessToken}`)
        .send(body as object);
      expect(response.status).toBe(400);
      expect(response.body).toEqual(refused(messages, fields));
      const list = await request(booted.http).get('/auth/sessions').set('Authorization', `Bearer ${other.accessToken}`).expect(200);
      expect(list.body).toHaveLength(2);
    });

    it('names at most ten unknown fields, each cut to 64 characters', async () => {
      const body = Object.fromEntries(Array.from({ length: 12 }, (_, index) => [`${'f'.repeat(100)}${index}`, true]));
      const response = await request(booted.http).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send(body).expect(400);
      expect(response.body.fields).toHaveLength(10);
      for (const field of response.body.fields) expect(field).toBe(`${'f'.repeat(64)}…`);
    });
  });

  it("answers 404 session_not_found for another user's session and for non-ids, which never reach the store", async () => {
    const caller = await bearerLogin(booted.http, 'dave');
    const victim = await bearerLogin(booted.http, 'erin');
    const store = booted.app.get<SessionStore>(SessionStore);
    const findById = jest.spyOn(store, 'findById');
    const revoke = jest.spyOn(store, 'revoke');
    const bearer = `Bearer ${caller.accessToken}`;
    for (const id of ['garbage', 'a'.repeat(21), `${caller.sessionId}x`, "' OR '1'='1"]) {
      const response = await request(booted.http).delete(`/auth/sessions/${encodeURIComponent(id)}`).set('Authorization', bearer);
      expect(response.status).toBe(404);
      expect(response.body).toEqual(SESSION_NOT_FOUND);
    }
    expect(findById).not.toHaveBeenCalled();
    expect(revoke).not.toHaveBeenCalled();

    const foreign = await request(booted.http).delete(`/auth/sessions/${victim.sessionId}`).set('Authorization', bearer);
    expect(foreign.body).toEqual(SESSION_NOT_FOUND);
    expect(revoke).not.toHaveBeenCalled();
    await request(booted.http).get('/auth/sessions').set('Authorization', `Bearer ${victim.accessToken}`).expect(200);

    // The current session: revoked, and its cookies cleared like a logout.
    const self = await request(booted.http).delete(`/auth/sessions/${caller.sessionId}`).set('Authorization', bearer).expect(204);
    expect(self.headers['clear-site-data']).toBe('"cookies"');
  });
});

describe('SessionRoutesModule: refresh shows the user as resolveUser returns it', () => {
  it('answers the current roles and profile, in both modes', async () => {
    const booted = await boot({
      session: { resolveUser: async (id) => ({ id, roles: ['user', 'editor'], profile: { email: 'renamed@example.com' } }) },
    });
    const login = await bearerLogin(booted.http, 'fred');
    const refreshed = await request(booted.http)
      .post('/auth/refresh')
      .set('X-Auth-Mode', 'bearer')
      .send({ refreshToken: login.refreshToken })
      .expect(200);
    expect(refreshed.body.user).toEqual({ id: 'fred', email: 'renamed@example.com', roles: ['user', 'editor'] });

    const browser = new Browser(booted.http);
    await browser.login('gina');
    const viaCookie = await browser.send('post', '/auth/refresh');
    expect(viaCookie.body.user).toEqual({ id: 'gina', email: 'renamed@example.com', roles: ['user', 'editor'] });
  });
});

describe('SessionRoutesModule: guards are idempotent per request', () => {
  it('strict mode reads the store once per request whether the guards run once (route) or twice (global + route)', async () => {
    for (const globalGuards of [false, true]) {
      const booted = await boot({ globalGuards, session: { revocationMode: 'strict' } });
      const login = await bearerLogin(booted.http);
      const findById = jest.spyOn(booted.app.get<SessionStore>(SessionStore), 'findById');
      await request(booted.http).get('/auth/sessions').set('Authorization', `Bearer ${login.accessToken}`).expect(200);
      expect({ globalGuards, reads: findById.mock.calls.length }).toEqual({ globalGuards, reads: 1 });
      findById.mockRestore();
    }
  });

  it('checks a cookie-mode request against its CSRF token once, with the guards global and on the route', async () => {
    const booted = await boot({ globalGuards: true });
    const browser = new Browser(booted.http);
    await browser.login();
    const isValid = jest.spyOn(booted.app.get(CsrfService), 'isValid');
    expect((await browser.send('post', '/auth/logout-all', { keepCurrent: true })).status).toBe(204);
    expect(isValid).toHaveBeenCalledTimes(1);
  });
});

describe('SessionRoutesModule options', () => {
  it('does not register a route turned off, so the app can serve its own at that path', async () => {
    const without = await boot({ routes: { routes: { sessions: false, csrf: false } } });
    expect((await request(without.http).get('/auth/csrf')).status).toBe(404);
    const login = await bearerLogin(without.http);
    const bearer = `Bearer ${login.accessToken}`;
    expect((await request(without.http).get('/auth/sessions').set('Authorization', bearer)).status).toBe(404);
    // The routes left on still work.
    await request(without.http).post('/auth/logout').set('Authorization', bearer).expect(204);

    const own = await boot({ routes: { routes: { sessions: false } }, controllers: [OwnSessionsController] });
    const mine = await bearerLogin(own.http);
    const response = await request(own.http).get('/auth/sessions').set('Authorization', `Bearer ${mine.accessToken}`).expect(200);
    expect(response.body).toEqual({ own: true });
  });

  it('runs extra guards after Tessera’s, built through DI: the module’s on every route, a route’s on that route', async () => {
    const booted = await boot({ routes: { guards: [DenyGuard], routes: { revokeSession: { guards: [ClosedGuard] } } } });
    const gatekeeper = booted.app.get(Gatekeeper);
    const login = await bearerLogin(booted.http);
    const bearer = `Bearer ${login.accessToken}`;
    await request(booted.http).get('/auth/sessions').set('Authorization', bearer).expect(200);
    expect(gatekeeper.seen).toEqual([{ path: '/auth/sessions', authenticated: true }]);

    const denied = await request(booted.http).get('/auth/sessions').set('Authorization', bearer).set('X-Deny', '1');
    expect(denied.status).toBe(403);
    const csrf = await request(booted.http).get('/auth/csrf').set('X-Deny', '1');
    expect(csrf.status).toBe(403);
    // The guard does not see requests Tessera refused first.
    const seen = gatekeeper.seen.length;
    await request(booted.http).get('/auth/sessions').expect(401);
    expect(gatekeeper.seen).toHaveLength(seen);

    const closed = await request(booted.http).delete(`/auth/sessions/${login.sessionId}`).set('Authorization', bearer);
    expect(closed.status).toBe(403);
    await request(booted.http).get('/auth/sessions').set('Authorization', bearer).expect(200);
  });

  it('serves the routes under another prefix, with the refresh cookie path set to match', async () => {
    const booted = await boot({ routes: { prefix: '/api/session/' }, session: { cookies: { refreshTokenPath: '/api/session' } } });
    expect((await request(booted.http).get('/auth/csrf')).status).toBe(404);
    const browser = new Browser(booted.http, '/api/session');
    const login = await browser.login();
    expect(login.status).toBe(200);
    expect(setCookiesOf(login).find((cookie) => cookie.name === REFRESH_COOKIE)?.attributes.path).toBe('/api/session');
    expect((await browser.send('post', '/api/session/refresh')).status).toBe(200);
    expect((await browser.get('/api/session/sessions')).body).toHaveLength(1);
  });

  it('refuses to start when the refresh cookie would not reach the refresh route', async () => {
    await expect(boot({ routes: { prefix: 'session' } })).rejects.toThrow(
      new SessionConfigError(
        'SessionRoutesModule serves /session/csrf, but the refresh cookie is only sent to paths under "/auth" ' +
          '(SessionModule option "cookies.refreshTokenPath"): set that option to the routes\' prefix (with any global ' +
          'prefix), for example "/session".',
      ),
    );
    // The global prefix counts.
    await expect(boot({ globalPrefix: 'v1' })).rejects.toThrow(/serves \/v1\/auth\/csrf/);
    const prefixed = await boot({ globalPrefix: 'v1', session: { cookies: { refreshTokenPath: '/v1/auth' } } });
    expect((await request(prefixed.http).get('/v1/auth/csrf')).status).toBe(200);
    // Only the routes that read the refresh cookie matter.
    const bearerOnly = await boot({ routes: { prefix: 'session', routes: { csrf: false, refresh: false } } });
    expect((await request(bearerOnly.http).get('/session/sessions')).status).toBe(401);
  });

  it('refuses bad options at forRoot with a message naming the option', () => {
    expect(() => SessionRoutesModule.forRoot({ prefix: 'a/:b' })).toThrow(/option "prefix"/);
    expect(() => SessionRoutesModule.forRoot({ routes: { session: false } as never })).toThrow(
      'SessionRoutesModule option "routes" has no route "session"; the routes are csrf, refresh, logout, logoutAll, sessions, revokeSession.',
    );
    expect(() => SessionRoutesModule.forRoot({ routes: { logout: 'yes' as never } })).toThrow(/"routes.logout" must be true, false/);
    expect(() => SessionRoutesModule.forRoot({ guards: ['DenyGuard' as never] })).toThrow(/"guards" must be an array of guard classes/);
  });

  it('says how to fix a SessionModule that is not global', async () => {
    await expect(boot({ isGlobal: false })).rejects.toThrow(/SessionRoutesModule needs SessionModule .* isGlobal: true/);
  });

  it('keeps each app’s prefix and guards when two apps run in one process, RouterModule paths included', async () => {
    const [a, b] = await Promise.all([
      boot({ routes: { prefix: 'auth' } }),
      boot({
        routes: { prefix: 'auth', guards: [ClosedGuard] },
        imports: [RouterModule.register([{ path: 'v2', module: SessionRoutesModule }])],
        session: { cookies: { refreshTokenPath: '/v2/auth' } },
      }),
    ]);
    expect((await request(a.http).get('/auth/csrf')).status).toBe(200);
    expect((await request(a.http).get('/v2/auth/csrf')).status).toBe(404);
    expect((await request(b.http).get('/auth/csrf')).status).toBe(404);
    expect((await request(b.http).get('/v2/auth/csrf')).status).toBe(403);
    // A third app after them still gets its own.
    const c = await boot({ routes: { prefix: 'c' }, session: { cookies: { refreshTokenPath: '/c' } } });
    expect((await request(c.http).get('/c/csrf')).status).toBe(200);
    expect((await request(a.http).get('/auth/csrf')).status).toBe(200);
  });
});

describe('SessionRoutesModule in the OpenAPI document', () => {
  it('documents every route with summaries, responses, security, the auth-mode header, the id pattern and the bodies', async () => {
    const { app } = await boot();
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .addBearerAuth()
        .addCookieAuth(ACCESS_COOKIE, { type: 'apiKey', in: 'cookie' }, 'access-cookie')
        .addCookieAuth(REFRESH_COOKIE, { type: 'apiKey', in: 'cookie' }, 'refresh-cookie')
        .build(),
    );
    const paths = document.paths as unknown as Record<string, Record<string, Record<string, unknown>>>;
    const expected: Array<[string, string, string[], string]> = [
      ['/auth/csrf', 'get', ['200', '503'], 'auth'],
      ['/auth/refresh', 'post', ['200', '400', '401', '403', '503'], 'auth'],
      ['/auth/logout', 'post', ['204', '401', '403', '503'], 'auth'],
      ['/auth/logout-all', 'post', ['204', '400', '401', '403', '503'], 'auth'],
      ['/auth/sessions', 'get', ['200', '401', '503'], 'sessions'],
      ['/auth/sessions/{id}', 'delete', ['204', '401', '403', '404', '503'], 'sessions'],
    ];
    for (const [path, method, statuses, tag] of expected) {
      const operation = paths[path]?.[method] as { responses: object; summary: string; tags: string[] } | undefined;
      expect({ path, method, found: operation !== undefined }).toEqual({ path, method, found: true });
      expect(Object.keys(operation?.responses ?? {}).sort()).toEqual(statuses);
      expect(operation?.summary).toEqual(expect.any(String));
      expect(operation?.tags).toEqual([tag]);
    }
    for (const [path, method] of [
      ['/auth/logout', 'post'],
      ['/auth/logout-all', 'post'],
      ['/auth/sessions', 'get'],
      ['/auth/sessions/{id}', 'delete'],
    ]) {
      expect(paths[path][method].security).toEqual(expect.arrayContaining([{ bearer: [] }, { 'access-cookie': [] }]));
    }
    expect(paths['/auth/refresh'].post.security).toEqual([{ 'refresh-cookie': [] }]);
    expect(paths['/auth/logout'].post.responses).toEqual(
      expect.objectContaining({
        '503': expect.objectContaining({
          description: expect.stringContaining('store_unavailable'),
          headers: { 'Retry-After': expect.objectContaining({ schema: { type: 'integer' } }) },
        }),
      }),
    );
    expect(paths['/auth/refresh'].post.parameters).toEqual([expect.objectContaining({ name: 'X-Auth-Mode', in: 'header' })]);
    expect(paths['/auth/sessions/{id}'].delete.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path', schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{22}$' } }),
    ]);
    expect(paths['/auth/logout-all'].post.requestBody).toEqual(
      expect.objectContaining({ content: { 'application/json': { schema: { $ref: '#/components/schemas/LogoutAllDto' } } } }),
    );
    const schemas = document.components?.schemas as Record<string, { properties: Record<string, { type: string }> }>;
    expect(schemas.LogoutAllDto.properties.keepCurrent.type).toBe('boolean');
    expect(schemas.RefreshDto.properties.refreshToken).toEqual(expect.objectContaining({ type: 'string', maxLength: 256 }));
    expect(Object.keys(schemas.SessionView.properties).sort()).toEqual(VIEW_FIELDS);
  });
});
