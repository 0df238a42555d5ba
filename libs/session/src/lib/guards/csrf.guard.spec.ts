import { Controller, Delete, Get, HttpCode, Patch, Post, Put } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Response as ExpressResponse } from 'express';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { Response } from 'supertest';
import { FakeClock } from '../../testing';
import { Public } from '../decorators/public.decorator';
import { SkipCsrf } from '../decorators/skip-csrf.decorator';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface';
import { CsrfService } from '../services/csrf.service';
import { SessionEvents } from '../services/session-events.service';
import type { SessionEvent } from '../services/session-events.service';
import { SessionService } from '../services/session.service';
import type { IssuedSession } from '../services/session.service';
import { SessionModule } from '../session.module';
import type { CsrfRefusal } from './csrf.guard';
import { CsrfGuard } from './csrf.guard';
import { SessionGuard } from './session.guard';

const jwtSecret = 'csrf-guard-spec-jwt-secret-0123456789-abcd';
const sessionSecret = 'csrf-guard-spec-session-secret-0123456789a';
const START = new Date('2030-01-01T00:00:00.000Z');
const APP_ORIGIN = 'https://app.example';
const ACCESS_COOKIE = '__Host-tessera-at';
const REFRESH_COOKIE = '__Secure-tessera-rt';
const CSRF_COOKIE = '__Host-tessera-csrf';
const USER_AGENT = 'csrf-guard-spec';

@Controller('items')
class ItemsController {
  @Get()
  list() {
    return { done: 'get' };
  }

  @Post()
  @HttpCode(200)
  create() {
    return { done: 'post' };
  }

  @Put(':id')
  replace() {
    return { done: 'put' };
  }

  @Patch(':id')
  update() {
    return { done: 'patch' };
  }

  @Delete(':id')
  remove() {
    return { done: 'delete' };
  }
}

@Controller()
class OtherController {
  @Public()
  @Post('public')
  @HttpCode(200)
  open() {
    return { done: 'public' };
  }

  @SkipCsrf()
  @Post('skip')
  @HttpCode(200)
  skip() {
    return { done: 'skip' };
  }
}

type Method = 'post' | 'put' | 'patch' | 'delete';
const UNSAFE: [Method, string, string][] = [
  ['post', '/items', 'post'],
  ['put', '/items/1', 'put'],
  ['patch', '/items/1', 'patch'],
  ['delete', '/items/1', 'delete'],
];

const REFUSAL_BODY = {
  statusCode: 403,
  error: 'Forbidden',
  message: 'CSRF check failed: send the X-CSRF-Token header from a page of this site',
  code: 'csrf_failed',
};

/** A logged-in browser: its session, its access cookie and a CSRF token bound to the session. */
interface Browser {
  issued: IssuedSession;
  token: string;
  /** Cookie header with the access cookie and the CSRF cookie. */
  cookie: string;
}

describe('CsrfGuard (HTTP)', () => {
  let app: INestApplication;
  let clock: FakeClock;
  let sessions: SessionService;
  let csrf: CsrfService;
  let sessionEvents: SessionEvents;
  let events: SessionEvent[];

  async function boot(options: Partial<SessionModuleOptions> = {}, listen = false): Promise<void> {
    clock = new FakeClock(START);
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ jwtSecret, sessionSecret, clock, csrf: { allowedOrigins: [APP_ORIGIN] }, ...options })],
      controllers: [ItemsController, OtherController],
      // Order matters: CsrfGuard reads how SessionGuard authenticated the request.
      providers: [
        { provide: APP_GUARD, useExisting: SessionGuard },
        { provide: APP_GUARD, useExisting: CsrfGuard },
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    if (listen) await app.listen(0, '127.0.0.1');
    else await app.init();
    sessions = app.get(SessionService);
    csrf = app.get(CsrfService);
    sessionEvents = app.get(SessionEvents);
    events = [];
    sessionEvents.subscribe((event) => {
      events.push(event);
    });
  }

  /** A token as CsrfService.issue mints it (the cookie it would set is built by the test). */
  const mint = (sessionId: string | undefined): string =>
    csrf.issue({ cookie: () => undefined } as unknown as ExpressResponse, sessionId);

  async function login(id = 'user-1'): Promise<Browser> {
    const issued = await sessions.create({ id, roles: ['user'] });
    const token = mint(issued.session.id);
    // Only what the request under test does should be recorded.
    events.length = 0;
    return { issued, token, cookie: `${ACCESS_COOKIE}=${issued.accessToken}; ${CSRF_COOKIE}=${token}` };
  }

  const http = () => request(app.getHttpServer());
  const send = (method: Method | 'get' | 'head', path: string) => http()[method](path).set('User-Agent', USER_AGENT);
  /** A request from the logged-in browser: its cookies and, in the header, its CSRF token. */
  const sendWithToken = (browser: Browser, method: Method | 'get' | 'head', path: string) =>
    send(method, path).set('Cookie', browser.cookie).set('X-CSRF-Token', browser.token);

  function refusals(): SessionEvent[] {
    return events.filter((event) => event.type === 'csrf.refused');
  }

  function expectPassed(response: Response, done: string): void {
    expect({ status: response.status, body: response.body }).toEqual({ status: 200, body: { done } });
    expect(refusals()).toEqual([]);
  }

  /**
   * 403 csrf_failed with the documented body, and exactly one `csrf.refused` event with
   * the reason, the user and the session fingerprint, never the raw session id or a token.
   */
  function expectRefused(response: Response, reason: CsrfRefusal, browser?: Browser, secrets: string[] = []): void {
    expect({ status: response.status, body: response.body }).toEqual({ status: 403, body: REFUSAL_BODY });
    expect(events).toEqual([
      {
        type: 'csrf.refused',
        at: START,
        userId: browser ? browser.issued.session.userId : null,
        sessionFingerprint: browser ? sessionEvents.fingerprint(browser.issued.session.id) : null,
        reason,
        ip: expect.stringMatching(/127\.0\.0\.1$/),
        userAgent: USER_AGENT,
      },
    ]);
    const serialised = JSON.stringify(events);
    if (browser) {
      expect(events[0].sessionFingerprint).not.toBe(browser.issued.session.id);
      for (const secret of [browser.issued.session.id, browser.token, browser.issued.accessToken]) {
        expect(serialised).not.toContain(secret);
      }
    }
    for (const secret of secrets) expect(serialised).not.toContain(secret);
    expect(JSON.stringify(response.body)).not.toContain('127.0.0.1');
  }

  afterEach(() => app.close());

  describe('with allowedOrigins [https://app.example]', () => {
    beforeEach(() => boot());

    describe('exempt requests', () => {
      it('lets safe methods through without a token, whatever their origin', async () => {
        const browser = await login();
        for (const method of ['get', 'head'] as const) {
          const response = await send(method, '/items')
            .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`)
            .set('Origin', 'https://evil.example')
            .set('Sec-Fetch-Site', 'cross-site');
          expect(response.status).toBe(200);
        }
        expect(refusals()).toEqual([]);
      });

      it.each(UNSAFE)('lets a %s authenticated by Authorization: Bearer through without a token', async (method, path, done) => {
        const browser = await login();
        const response = await send(method, path)
          .set('Authorization', `Bearer ${browser.issued.accessToken}`)
          .set('Origin', 'https://evil.example')
          .set('Sec-Fetch-Site', 'cross-site');
        expectPassed(response, done);
      });

      it('lets a bearer request through even when it also carries the cookies', async () => {
        const browser = await login();
        const response = await send('post', '/items')
          .set('Authorization', `Bearer ${browser.issued.accessToken}`)
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`);
        expectPassed(response, 'post');
      });

      it.each([
        ['X-Auth-Mode: bearer', { 'X-Auth-Mode': 'bearer' }],
        ['X-Auth-Mode: " Bearer "', { 'X-Auth-Mode': ' Bearer ' }],
        ['X-Auth-Mode: bearer and an Authorization: Bearer header', { 'X-Auth-Mode': 'bearer', Authorization: 'Bearer anything' }],
      ])('lets a public POST with %s through without a token', async (_label, headers) => {
        const response = await send('post', '/public').set(headers);
        expectPassed(response, 'public');
      });

      it('does not exempt a public POST for a bare Authorization: Bearer header (the handler would still work in cookie mode)', async () => {
        const response = await send('post', '/public').set('Authorization', 'Bearer anything');
        expectRefused(response, 'token_missing', undefined, ['anything']);
      });

      it.each(['cookie', 'bearer-ish', ''])('does not exempt a public POST with X-Auth-Mode: %p', async (mode) => {
        const response = await send('post', '/public').set('X-Auth-Mode', mode);
        expectRefused(response, 'token_missing');
      });

      it('lets a @SkipCsrf() route through without a token, even cross-site', async () => {
        const browser = await login();
        const response = await send('post', '/skip')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`)
          .set('Origin', 'https://evil.example')
          .set('Sec-Fetch-Site', 'cross-site');
        expectPassed(response, 'skip');
      });

      it('runs after SessionGuard: an unauthenticated POST is a 401, not a CSRF refusal', async () => {
        const response = await send('post', '/items');
        expect(response.status).toBe(401);
        expect(response.body.code).toBe('token_missing');
        expect(refusals()).toEqual([]);
      });
    });

    describe('cookie-authenticated requests that claim another mode', () => {
      it.each([
        ['X-Auth-Mode: bearer', { 'X-Auth-Mode': 'bearer' }],
        ['Authorization: Basic', { Authorization: 'Basic dXNlcjpwYXNz' }],
      ])('are still checked (%s, no bearer token): refused without a token', async (_label, headers) => {
        const browser = await login();
        const response = await send('post', '/items')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`)
          .set(headers);
        expectRefused(response, 'token_missing', browser);
      });

      it('pass with a valid token', async () => {
        const browser = await login();
        const response = await send('post', '/items')
          .set('Cookie', browser.cookie)
          .set('X-Auth-Mode', 'bearer')
          .set('X-CSRF-Token', browser.token);
        expectPassed(response, 'post');
      });
    });

    describe('Sec-Fetch-Site', () => {
      it('refuses cross-site even with a valid token and an allowed Origin', async () => {
        const browser = await login();
        const response = await sendWithToken(browser, 'post', '/items')
          .set('Origin', APP_ORIGIN)
          .set('Sec-Fetch-Site', 'cross-site');
        expectRefused(response, 'cross_site_fetch', browser);
      });

      it('is checked before the origin and the token', async () => {
        const browser = await login();
        const response = await send('post', '/items')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`)
          .set('Origin', 'https://evil.example')
          .set('Sec-Fetch-Site', 'cross-site');
        expectRefused(response, 'cross_site_fetch', browser);
      });

      it.each(['same-origin', 'same-site', 'none'])('lets %s through with a valid token', async (site) => {
        const browser = await login();
        const response = await sendWithToken(browser, 'post', '/items')
          .set('Origin', APP_ORIGIN)
          .set('Sec-Fetch-Site', site);
        expectPassed(response, 'post');
      });
    });

    describe('Origin', () => {
      it('lets an allowed Origin through with a valid token', async () => {
        const browser = await login();
        const response = await sendWithToken(browser, 'post', '/items').set('Origin', APP_ORIGIN);
        expectPassed(response, 'post');
      });

      it.each([
        'https://evil.example',
        'https://app.example.evil.example',
        'https://evil-app.example',
        'https://app.example:444',
        'http://app.example',
        'https://sub.app.example',
        'https://APP.example',
        'https://app.example/',
        'null',
        '',
      ])('refuses Origin %p even with a valid token', async (origin) => {
        const browser = await login();
        const response = await sendWithToken(browser, 'post', '/items').set('Origin', origin);
        expectRefused(response, 'origin_not_allowed', browser);
      });

      it('is checked before the token', async () => {
        const browser = await login();
        const response = await send('post', '/items')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`)
          .set('Origin', 'https://evil.example');
        expectRefused(response, 'origin_not_allowed', browser);
      });

      it('wins over the Referer: an allowed Origin passes with a foreign Referer, a foreign Origin fails with an allowed Referer', async () => {
        const browser = await login();
        const allowed = await sendWithToken(browser, 'post', '/items')
          .set('Origin', APP_ORIGIN)
          .set('Referer', 'https://evil.example/page');
        expectPassed(allowed, 'post');
        const refused = await sendWithToken(browser, 'post', '/items')
          .set('Origin', 'https://evil.example')
          .set('Referer', `${APP_ORIGIN}/page`);
        expectRefused(refused, 'origin_not_allowed', browser);
      });
    });

    describe('Referer (when there is no Origin)', () => {
      it.each([`${APP_ORIGIN}/settings?tab=1#top`, `${APP_ORIGIN}/`, `${APP_ORIGIN}:443/page`])(
        'lets an allowed Referer %p through with a valid token',
        async (referer) => {
          const browser = await login();
          const response = await sendWithToken(browser, 'post', '/items').set('Referer', referer);
          expectPassed(response, 'post');
        },
      );

      it.each([
        'https://evil.example/https://app.example/',
        'https://app.example.evil.example/page',
        'http://app.example/page',
        'https://app.example:444/page',
        'not a url',
        '/relative/path',
        'data:text/html,hello',
      ])('refuses the Referer %p even with a valid token', async (referer) => {
        const browser = await login();
        const response = await sendWithToken(browser, 'post', '/items').set('Referer', referer);
        expectRefused(response, 'referer_not_allowed', browser);
      });

      it('lets a request with neither Origin nor Referer through on its token alone', async () => {
        const browser = await login();
        const response = await sendWithToken(browser, 'post', '/items');
        expectPassed(response, 'post');
      });
    });

    describe('the token', () => {
      it('refuses a request without the header', async () => {
        const browser = await login();
        const response = await send('post', '/items').set('Cookie', browser.cookie).set('Origin', APP_ORIGIN);
        expectRefused(response, 'token_missing', browser);
      });

      it('refuses a request without the cookie', async () => {
        const browser = await login();
        const response = await send('post', '/items')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`)
          .set('X-CSRF-Token', browser.token)
          .set('Origin', APP_ORIGIN);
        expectRefused(response, 'token_missing', browser);
      });

      it('refuses an empty header', async () => {
        const browser = await login();
        const response = await send('post', '/items').set('Cookie', browser.cookie).set('X-CSRF-Token', '');
        expectRefused(response, 'token_missing', browser);
      });

      it('does not accept the token under the unprefixed cookie name', async () => {
        const browser = await login();
        const response = await send('post', '/items')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}; tessera-csrf=${browser.token}`)
          .set('X-CSRF-Token', browser.token);
        expectRefused(response, 'token_missing', browser);
      });

      it('refuses a header that differs from the cookie, even when both are valid for the session', async () => {
        const browser = await login();
        const other = mint(browser.issued.session.id);
        expect(csrf.isValid(other, browser.issued.session.id)).toBe(true);
        const response = await send('post', '/items').set('Cookie', browser.cookie).set('X-CSRF-Token', other);
        expectRefused(response, 'token_mismatch', browser, [other]);
      });

      it('refuses a token bound to another session (header and cookie agreeing)', async () => {
        const browser = await login();
        const stranger = await sessions.create({ id: 'user-2' });
        const foreign = mint(stranger.session.id);
        events.length = 0;
        const response = await send('post', '/items')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}; ${CSRF_COOKIE}=${foreign}`)
          .set('X-CSRF-Token', foreign);
        expectRefused(response, 'token_invalid', browser, [foreign, stranger.session.id]);
      });

      it('refuses an unbound token (minted before login) on an authenticated route', async () => {
        const browser = await login();
        const unbound = mint(undefined);
        const response = await send('post', '/items')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}; ${CSRF_COOKIE}=${unbound}`)
          .set('X-CSRF-Token', unbound);
        expectRefused(response, 'token_invalid', browser, [unbound]);
      });

      it('refuses a forged token of the right shape', async () => {
        const browser = await login();
        const forged = `${'A'.repeat(22)}.${'B'.repeat(43)}`;
        const response = await send('post', '/items')
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}; ${CSRF_COOKIE}=${forged}`)
          .set('X-CSRF-Token', forged);
        expectRefused(response, 'token_invalid', browser, [forged]);
      });

      it.each(UNSAFE)('lets a %s with a valid token through', async (method, path, done) => {
        const browser = await login();
        const response = await sendWithToken(browser, method, path).set('Origin', APP_ORIGIN);
        expectPassed(response, done);
      });

      it.each(UNSAFE)('refuses a %s without a token', async (method, path) => {
        const browser = await login();
        const response = await send(method, path)
          .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`)
          .set('Origin', APP_ORIGIN);
        expectRefused(response, 'token_missing', browser);
      });
    });

    describe('public routes (register, login, refresh)', () => {
      it('let an unbound token through when the browser has no session', async () => {
        const token = mint(undefined);
        const response = await send('post', '/public')
          .set('Cookie', `${CSRF_COOKIE}=${token}`)
          .set('X-CSRF-Token', token)
          .set('Origin', APP_ORIGIN);
        expectPassed(response, 'public');
      });

      it('refuse a cookie-mode POST without a token, as anonymous', async () => {
        const response = await send('post', '/public').set('Origin', APP_ORIGIN);
        expectRefused(response, 'token_missing');
      });

      it('refuse a foreign Origin, as anonymous', async () => {
        const token = mint(undefined);
        const response = await send('post', '/public')
          .set('Cookie', `${CSRF_COOKIE}=${token}`)
          .set('X-CSRF-Token', token)
          .set('Origin', 'https://evil.example');
        expectRefused(response, 'origin_not_allowed', undefined, [token]);
      });

      it('bind the token to the session the refresh cookie names (a refresh after the access cookie expired)', async () => {
        const browser = await login();
        const refreshCookie = `${REFRESH_COOKIE}=${browser.issued.refreshToken}`;
        const bound = await send('post', '/public')
          .set('Cookie', `${refreshCookie}; ${CSRF_COOKIE}=${browser.token}`)
          .set('X-CSRF-Token', browser.token);
        expectPassed(bound, 'public');
        const unbound = mint(undefined);
        const refused = await send('post', '/public')
          .set('Cookie', `${refreshCookie}; ${CSRF_COOKIE}=${unbound}`)
          .set('X-CSRF-Token', unbound);
        expectRefused(refused, 'token_invalid', undefined, [unbound, browser.issued.refreshToken, browser.issued.session.id]);
      });
    });
  });

  describe('with csrf.enabled false', () => {
    beforeEach(() => boot({ csrf: { enabled: false, allowedOrigins: [APP_ORIGIN] } }));

    it.each(UNSAFE)('lets a cookie-authenticated cross-site %s without a token through', async (method, path, done) => {
      const browser = await login();
      const response = await send(method, path)
        .set('Cookie', `${ACCESS_COOKIE}=${browser.issued.accessToken}`)
        .set('Origin', 'https://evil.example')
        .set('Sec-Fetch-Site', 'cross-site');
      expectPassed(response, done);
    });

    it('lets a public POST without a token through', async () => {
      expectPassed(await send('post', '/public').set('Origin', 'null'), 'public');
    });
  });

  describe('without allowedOrigins (the request\'s own origin only)', () => {
    let own: string;

    beforeEach(async () => {
      await boot({ csrf: {} }, true);
      own = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    });

    it('lets the request\'s own origin through, as Origin or as Referer', async () => {
      const browser = await login();
      const viaOrigin = await sendWithToken(browser, 'post', '/items').set('Origin', own);
      expectPassed(viaOrigin, 'post');
      const viaReferer = await sendWithToken(browser, 'post', '/items').set('Referer', `${own}/page`);
      expectPassed(viaReferer, 'post');
    });

    it.each([
      (own: string) => own.replace('http:', 'https:'),
      (own: string) => own.replace('127.0.0.1', 'localhost'),
      (own: string) => `${own}0`,
      () => 'https://app.example',
      () => 'null',
    ])('refuses another origin (case %#)', async (origin) => {
      const browser = await login();
      const response = await sendWithToken(browser, 'post', '/items').set('Origin', origin(own));
      expectRefused(response, 'origin_not_allowed', browser);
    });

    it('refuses a foreign Referer', async () => {
      const browser = await login();
      const response = await sendWithToken(browser, 'post', '/items').set('Referer', 'https://evil.example/');
      expectRefused(response, 'referer_not_allowed', browser);
    });
  });
});
