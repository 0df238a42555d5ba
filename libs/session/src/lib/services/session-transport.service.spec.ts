import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import type { Request, Response } from 'express';
import request from 'supertest';
import { FakeClock } from '../../testing';
import { AccessTokenService } from './access-token.service';
import { CsrfService } from './csrf.service';
import { SessionService } from './session.service';
import { SessionAuthenticator } from './session-authenticator.service';
import { SessionTransportService } from './session-transport.service';
import { startSessionApp } from '../../../test/support/session-module';
import type { TestSessionOptions } from '../../../test/support/session-module';

const jwtSecret = 'transport-spec-jwt-secret-0123456789-abcd';
const sessionSecret = 'transport-spec-session-secret-0123456789-a';

@Controller('auth')
class AuthProbeController {
  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransportService,
    private readonly authenticator: SessionAuthenticator,
  ) {}

  @Post('login')
  @HttpCode(200)
  async login(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const issued = await this.sessions.create({ id: 'user-1', roles: ['user'] });
    return this.transport.deliver(req, res, issued);
  }

  @Post('refresh')
  @HttpCode(200)
  async refresh(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const issued = await this.sessions.refresh(this.transport.extractRefreshToken(req));
    return this.transport.deliver(req, res, issued);
  }

  @Post('logout')
  @HttpCode(204)
  logout(@Res({ passthrough: true }) res: Response): void {
    this.transport.clear(res);
  }

  @Get('extract')
  extract(@Req() req: Request) {
    return { access: this.authenticator.extract(req) ?? null, mode: this.transport.requestedMode(req) };
  }
}

interface ParsedCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

/** Parses Set-Cookie headers; attribute names are lower-cased, flags map to `true`. */
function setCookies(response: request.Response): ParsedCookie[] {
  const header = response.headers['set-cookie'] as unknown as string[] | undefined;
  return (header ?? []).map((line) => {
    const [pair, ...rest] = line.split('; ');
    const eq = pair.indexOf('=');
    const attributes: Record<string, string | true> = {};
    for (const attribute of rest) {
      const at = attribute.indexOf('=');
      if (at < 0) attributes[attribute.toLowerCase()] = true;
      else attributes[attribute.slice(0, at).toLowerCase()] = attribute.slice(at + 1);
    }
    return { name: pair.slice(0, eq), value: decodeURIComponent(pair.slice(eq + 1)), attributes };
  });
}

/** The attributes without `expires` (which express computes from the wall clock). */
function withoutExpires(cookie: ParsedCookie): Omit<ParsedCookie, 'value'> {
  const { expires: _expires, ...attributes } = cookie.attributes;
  return { name: cookie.name, attributes };
}

describe('SessionTransportService (HTTP)', () => {
  let app: INestApplication;
  let clock: FakeClock;
  let sessions: SessionService;
  let tokens: AccessTokenService;
  let csrf: CsrfService;

  async function boot(options: Partial<TestSessionOptions> = {}): Promise<void> {
    ({ app, clock } = await startSessionApp({ jwtSecret, sessionSecret, ...options }, { controllers: [AuthProbeController] }));
    sessions = app.get(SessionService);
    tokens = app.get(AccessTokenService);
    csrf = app.get(CsrfService);
  }

  /** Asserts that `token` is a CSRF token bound to exactly `sessionId`. */
  function expectBoundTo(token: string, sessionId: string): void {
    expect(token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(csrf.isValid(token, sessionId)).toBe(true);
    expect(csrf.isValid(token, undefined)).toBe(false);
    expect(csrf.isValid(token, `${sessionId.slice(0, -1)}${sessionId.endsWith('A') ? 'B' : 'A'}`)).toBe(false);
  }

  const http = () => request(app.getHttpServer());

  afterEach(() => app.close());

  describe('cookie mode (default, secure)', () => {
    beforeEach(() => boot());

    it('sets exactly the access, refresh and CSRF cookies with their names and flags', async () => {
      const response = await http().post('/auth/login');
      expect(response.status).toBe(200);
      const cookies = setCookies(response);
      expect(cookies.map(withoutExpires)).toEqual([
        {
          name: '__Host-tessera-at',
          attributes: { 'max-age': '600', path: '/', httponly: true, secure: true, samesite: 'Lax' },
        },
        {
          name: '__Secure-tessera-rt',
          attributes: { 'max-age': '604800', path: '/auth', httponly: true, secure: true, samesite: 'Strict' },
        },
        // Readable by the page (no HttpOnly) so it can echo it in X-CSRF-Token; lives as long
        // as the session, like the refresh cookie, so a browser restart can still refresh.
        { name: '__Host-tessera-csrf', attributes: { 'max-age': '604800', path: '/', secure: true, samesite: 'Lax' } },
      ]);
      // __Host- cookies must not carry a Domain attribute.
      expect(cookies[0].attributes.domain).toBeUndefined();
      expect(cookies[2].attributes.domain).toBeUndefined();
      expect(cookies[2].attributes.httponly).toBeUndefined();
      for (const cookie of cookies.slice(0, 2)) expect(Number.isNaN(Date.parse(String(cookie.attributes.expires)))).toBe(false);
    });

    it('puts the access token and the refresh token in the cookies, not in the body', async () => {
      const response = await http().post('/auth/login');
      const [access, refresh, csrfCookie] = setCookies(response);
      const claims = tokens.verify(access.value);
      expect(claims).toMatchObject({ sub: 'user-1', roles: ['user'] });
      expect(refresh.value).toMatch(new RegExp(`^${claims.sid}\\.0\\.[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}$`));
      expect(response.body).toEqual({
        session: { id: claims.sid, expiresAt: '2030-01-08T00:00:00.000Z' },
        csrfToken: csrfCookie.value,
        expiresIn: 600,
      });
      expect(JSON.stringify(response.body)).not.toContain(access.value);
      expect(JSON.stringify(response.body)).not.toContain(refresh.value);
      expect((await sessions.refresh(refresh.value)).session.id).toBe(claims.sid);
    });

    it('returns in the body the CSRF token of the cookie, bound to the delivered session only', async () => {
      const response = await http().post('/auth/login');
      const [access, , csrfCookie] = setCookies(response);
      const { sid } = tokens.verify(access.value);
      expect(csrfCookie.name).toBe('__Host-tessera-csrf');
      expect(response.body.csrfToken).toBe(csrfCookie.value);
      expectBoundTo(response.body.csrfToken, sid);
      const other = await sessions.create({ id: 'user-1' });
      expect(csrf.isValid(response.body.csrfToken, other.session.id)).toBe(false);
    });

    it('issues a fresh CSRF token at every delivery, bound to the refreshed session', async () => {
      const login = await http().post('/auth/login');
      const refreshToken = setCookies(login)[1].value;
      const response = await http().post('/auth/refresh').set('Cookie', `__Secure-tessera-rt=${refreshToken}`);
      expect(response.status).toBe(200);
      const csrfCookie = setCookies(response).find((cookie) => cookie.name === '__Host-tessera-csrf');
      expect(csrfCookie?.value).toBe(response.body.csrfToken);
      expect(response.body.csrfToken).not.toBe(login.body.csrfToken);
      expectBoundTo(response.body.csrfToken, login.body.session.id);
    });

    it('marks the response Cache-Control: no-store', async () => {
      const response = await http().post('/auth/login');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.headers['pragma']).toBe('no-cache');
    });

    it('computes Max-Age from the FakeClock', async () => {
      const first = await http().post('/auth/login');
      const refreshToken = setCookies(first)[1].value;
      clock.advance(3 * 86_400_000);
      const response = await http().post('/auth/refresh').set('Cookie', `__Secure-tessera-rt=${refreshToken}`);
      expect(response.status).toBe(200);
      const [access, refresh, csrfCookie] = setCookies(response);
      expect(csrfCookie.attributes['max-age']).toBe('604800');
      expect(access.attributes['max-age']).toBe('600');
      expect(refresh.attributes['max-age']).toBe('604800');
      expect(response.body.session.expiresAt).toBe('2030-01-11T00:00:00.000Z');
    });

    it('reads the refresh token from the __Secure- cookie, not from the body, in cookie mode', async () => {
      const refreshToken = setCookies(await http().post('/auth/login'))[1].value;
      const fromBody = await http().post('/auth/refresh').send({ refreshToken });
      expect(fromBody.status).toBe(401);
      expect(fromBody.body.code).toBe('invalid_refresh_token');
      const fromCookie = await http().post('/auth/refresh').set('Cookie', `__Secure-tessera-rt=${refreshToken}`);
      expect(fromCookie.status).toBe(200);
    });

    it('clear() expires the access, refresh and CSRF cookies and sends Clear-Site-Data "cookies"', async () => {
      const response = await http().post('/auth/logout');
      expect(response.status).toBe(204);
      expect(response.headers['clear-site-data']).toBe('"cookies"');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(setCookies(response)).toEqual([
        {
          name: '__Host-tessera-at',
          value: '',
          attributes: {
            path: '/',
            expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
            httponly: true,
            secure: true,
            samesite: 'Lax',
          },
        },
        {
          name: '__Secure-tessera-rt',
          value: '',
          attributes: {
            path: '/auth',
            expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
            httponly: true,
            secure: true,
            samesite: 'Strict',
          },
        },
        {
          name: '__Host-tessera-csrf',
          value: '',
          attributes: { path: '/', expires: 'Thu, 01 Jan 1970 00:00:00 GMT', secure: true, samesite: 'Lax' },
        },
      ]);
    });
  });

  describe('cookie mode with secure: false', () => {
    beforeEach(() => boot({ cookies: { secure: false } }));

    it('drops the name prefixes and the Secure flag', async () => {
      const response = await http().post('/auth/login');
      const cookies = setCookies(response);
      expect(cookies.map(withoutExpires)).toEqual([
        { name: 'tessera-at', attributes: { 'max-age': '600', path: '/', httponly: true, samesite: 'Lax' } },
        { name: 'tessera-rt', attributes: { 'max-age': '604800', path: '/auth', httponly: true, samesite: 'Strict' } },
        { name: 'tessera-csrf', attributes: { 'max-age': '604800', path: '/', samesite: 'Lax' } },
      ]);
      expect(response.body.csrfToken).toBe(cookies[2].value);
      expectBoundTo(response.body.csrfToken, response.body.session.id);
    });

    it('clear() expires the unprefixed cookies without Secure', async () => {
      const response = await http().post('/auth/logout');
      expect(setCookies(response).map((cookie) => [cookie.name, cookie.value, cookie.attributes.secure])).toEqual([
        ['tessera-at', '', undefined],
        ['tessera-rt', '', undefined],
        ['tessera-csrf', '', undefined],
      ]);
      expect(setCookies(response)[2].attributes).toEqual({ path: '/', expires: 'Thu, 01 Jan 1970 00:00:00 GMT', samesite: 'Lax' });
    });

    it('reads the access token from the unprefixed cookie only', async () => {
      const [access] = setCookies(await http().post('/auth/login'));
      const plain = await http().get('/auth/extract').set('Cookie', `tessera-at=${access.value}`);
      expect(plain.body.access).toEqual({ token: access.value, transport: 'cookie' });
      const prefixed = await http().get('/auth/extract').set('Cookie', `__Host-tessera-at=${access.value}`);
      expect(prefixed.body.access).toBeNull();
    });
  });

  describe('custom cookie names and path', () => {
    beforeEach(() =>
      boot({ cookies: { accessTokenName: 'my-at', refreshTokenName: 'my-rt', refreshTokenPath: '/api/auth' } }),
    );

    it('uses them, keeping the prefixes', async () => {
      const cookies = setCookies(await http().post('/auth/login'));
      expect(cookies.map((cookie) => [cookie.name, cookie.attributes.path])).toEqual([
        ['__Host-my-at', '/'],
        ['__Secure-my-rt', '/api/auth'],
        ['__Host-tessera-csrf', '/'],
      ]);
    });
  });

  describe('bearer mode', () => {
    beforeEach(() => boot());

    it.each(['bearer', 'Bearer', ' BEARER '])('returns the tokens in the body and sets no cookie (X-Auth-Mode: %p)', async (mode) => {
      const response = await http().post('/auth/login').set('X-Auth-Mode', mode);
      expect(response.status).toBe(200);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(response.headers['cache-control']).toBe('no-store');
      expect(response.body).toEqual({
        accessToken: expect.any(String),
        refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{22}\.0\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/),
        tokenType: 'Bearer',
        expiresIn: 600,
        session: { id: expect.any(String), expiresAt: '2030-01-08T00:00:00.000Z' },
      });
      const claims = tokens.verify(response.body.accessToken);
      expect(claims.sid).toBe(response.body.session.id);
      expect(response.body.refreshToken.startsWith(`${claims.sid}.`)).toBe(true);
      expect(response.body).not.toHaveProperty('csrfToken');
    });

    it('computes expiresIn from the FakeClock and reads the refresh token from the body', async () => {
      const login = await http().post('/auth/login').set('X-Auth-Mode', 'bearer');
      clock.advance(90_000);
      const response = await http()
        .post('/auth/refresh')
        .set('X-Auth-Mode', 'bearer')
        .set('Cookie', `__Secure-tessera-rt=garbage`)
        .send({ refreshToken: login.body.refreshToken });
      expect(response.status).toBe(200);
      expect(response.body.expiresIn).toBe(600);
      expect(response.body.refreshToken).not.toBe(login.body.refreshToken);
      expect(response.headers['set-cookie']).toBeUndefined();
      expect(response.body).not.toHaveProperty('csrfToken');
    });

    it('does not read the refresh cookie in bearer mode', async () => {
      const refreshToken = setCookies(await http().post('/auth/login'))[1].value;
      const response = await http()
        .post('/auth/refresh')
        .set('X-Auth-Mode', 'bearer')
        .set('Cookie', `__Secure-tessera-rt=${refreshToken}`);
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('invalid_refresh_token');
    });

    it.each(['cookie', 'bearer-ish', ''])('stays in cookie mode for X-Auth-Mode: %p', async (mode) => {
      const response = await http().post('/auth/login').set('X-Auth-Mode', mode);
      const cookies = setCookies(response);
      expect(cookies.map((cookie) => cookie.name)).toEqual(['__Host-tessera-at', '__Secure-tessera-rt', '__Host-tessera-csrf']);
      expect(response.body.accessToken).toBeUndefined();
      expect(response.body.refreshToken).toBeUndefined();
      expect(response.body.csrfToken).toBe(cookies[2].value);
    });
  });

  describe('SessionAuthenticator.extract', () => {
    beforeEach(() => boot());

    it.each<[string, Record<string, string>, unknown]>([
      ['a bearer header', { Authorization: 'Bearer abc.def.ghi' }, { token: 'abc.def.ghi', transport: 'bearer' }],
      ['the access cookie', { Cookie: '__Host-tessera-at=abc.def.ghi' }, { token: 'abc.def.ghi', transport: 'cookie' }],
      [
        'both (header wins)',
        { Authorization: 'Bearer from-header', Cookie: '__Host-tessera-at=from-cookie' },
        { token: 'from-header', transport: 'bearer' },
      ],
      ['an empty bearer header', { Authorization: 'Bearer' }, { token: '', transport: 'bearer' }],
      ['a bearer header with a space in the token', { Authorization: 'Bearer a b' }, { token: '', transport: 'bearer' }],
      ['a Basic header', { Authorization: 'Basic dXNlcjpwYXNz' }, null],
      ['a "Bearerx" scheme', { Authorization: 'Bearerx abc' }, null],
      ['an empty access cookie', { Cookie: '__Host-tessera-at=' }, null],
      ['the refresh cookie only', { Cookie: '__Secure-tessera-rt=abc' }, null],
      ['nothing', {}, null],
    ])('with %s', async (_label, headers, expected) => {
      const response = await http().get('/auth/extract').set(headers);
      expect(response.body.access).toEqual(expected);
    });

    it('never reads the query string', async () => {
      const response = await http().get('/auth/extract?access_token=abc.def.ghi&token=abc.def.ghi');
      expect(response.body.access).toBeNull();
    });
  });
});
