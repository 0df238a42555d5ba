import { Controller, Get, Req, UseGuards } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import jsonwebtoken from 'jsonwebtoken';
import { createHash } from 'node:crypto';
import request from 'supertest';
import type { Response } from 'supertest';
import { FakeClock } from '../../testing';
import { SESSION_JWT_STRATEGY } from '../constants';
import { CurrentSession } from '../decorators/current-session.decorator';
import { CurrentUser } from '../decorators/current-user.decorator';
import { Public } from '../decorators/public.decorator';
import { Roles } from '../decorators/roles.decorator';
import type { AuthenticatedSession, AuthenticatedUser, TokenTransport } from '../interfaces/authenticated.interface';
import { AccessTokenService } from '../services/access-token.service';
import { SessionService } from '../services/session.service';
import type { IssuedSession } from '../services/session.service';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { SessionGuard } from './session.guard';
import { OutageSessionStore } from '../../../test/support/outage-session.store';
import { START, startSessionApp } from '../../../test/support/session-module';
import type { TestSessionOptions } from '../../../test/support/session-module';

const jwtSecret = 'guard-spec-jwt-secret-0123456789-abcdefgh';
const sessionSecret = 'guard-spec-session-secret-0123456789-abcd';
const kid = createHash('sha256').update(jwtSecret).digest('base64url').slice(0, 12);
const ACCESS_COOKIE = '__Host-tessera-at';

@Controller()
class ProbeController {
  @Public()
  @Get('public')
  open() {
    return { public: true };
  }

  @Get('me')
  me(
    @CurrentUser() user: AuthenticatedUser,
    @CurrentSession() session: AuthenticatedSession,
    @CurrentUser('id') userId: string,
    @CurrentSession('transport') transport: TokenTransport,
  ) {
    return { user, session, userId, transport };
  }

  /** A careless handler: it changes the user it was given. */
  @Get('mutate')
  mutate(@CurrentUser() user: AuthenticatedUser) {
    user.roles.push('admin');
    return { roles: user.roles };
  }

  @Roles('admin')
  @Get('admin')
  admin(@CurrentUser('roles') roles: string[]) {
    return { admin: true, roles };
  }
}

@Public()
@Controller('open')
class OpenController {
  @Get()
  open() {
    return { open: true };
  }
}

const MESSAGES: Record<string, string> = {
  token_missing: 'Authentication required',
  token_invalid: 'Access token is invalid',
  token_expired: 'Access token has expired',
  session_revoked: 'Session has been revoked',
  session_expired: 'Session has expired',
};

function expectUnauthorized(response: Response, code: keyof typeof MESSAGES): void {
  expect(response.status).toBe(401);
  expect(response.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: MESSAGES[code], code });
}

describe('SessionGuard (HTTP)', () => {
  let app: INestApplication;
  let clock: FakeClock;
  let sessions: SessionService;
  let tokens: AccessTokenService;

  async function boot(options: Partial<TestSessionOptions> = {}, start: Date = START): Promise<void> {
    ({ app, clock } = await startSessionApp(
      { jwtSecret, sessionSecret, clock: new FakeClock(start), ...options },
      { controllers: [ProbeController, OpenController], providers: [{ provide: APP_GUARD, useExisting: SessionGuard }] },
    ));
    sessions = app.get(SessionService);
    tokens = app.get(AccessTokenService);
  }

  const http = () => request(app.getHttpServer());
  const login = (roles: string[] = ['user'], id = 'user-1'): Promise<IssuedSession> => sessions.create({ id, roles });
  /** The claims of `accessToken` with `changes` applied, signed again with the right key and kid. */
  const resigned = (accessToken: string, changes: Record<string, unknown>): string =>
    jsonwebtoken.sign({ ...tokens.verify(accessToken), ...changes }, jwtSecret, { header: { alg: 'HS256', typ: 'at+jwt', kid } });

  afterEach(() => app.close());

  describe('with the default configuration', () => {
    beforeEach(() => boot());

    it('lets a @Public() route through without a token', async () => {
      const response = await http().get('/public');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ public: true });
    });

    it('lets a route of a @Public() controller through, even with a garbage token', async () => {
      const response = await http().get('/open').set('Authorization', 'Bearer garbage');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ open: true });
    });

    it('answers 401 token_missing on a protected route without a token', async () => {
      const response = await http().get('/me');
      expectUnauthorized(response, 'token_missing');
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('authenticates a bearer token and exposes the user and session to the handler', async () => {
      const issued = await login(['user', 'editor']);
      const response = await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        user: { id: 'user-1', roles: ['user', 'editor'], claims: {} },
        session: {
          id: issued.session.id,
          userId: 'user-1',
          transport: 'bearer',
          accessTokenExpiresAt: '2030-01-01T00:10:00.000Z',
          tokenId: tokens.verify(issued.accessToken).jti,
          authenticatedAt: '2030-01-01T00:00:00.000Z',
        },
        userId: 'user-1',
        transport: 'bearer',
      });
    });

    it('authenticates the access cookie (transport cookie)', async () => {
      const issued = await login();
      const response = await http().get('/me').set('Cookie', `theme=dark; ${ACCESS_COOKIE}=${issued.accessToken}`);
      expect(response.status).toBe(200);
      expect(response.body.transport).toBe('cookie');
      expect(response.body.session).toMatchObject({ id: issued.session.id, transport: 'cookie' });
      expect(response.body.user).toEqual({ id: 'user-1', roles: ['user'], claims: {} });
    });

    it('ignores a cookie with the unprefixed name', async () => {
      const issued = await login();
      expectUnauthorized(await http().get('/me').set('Cookie', `tessera-at=${issued.accessToken}`), 'token_missing');
    });

    it.each(['access_token', 'token'])('never reads a token from the query string (?%s=)', async (name) => {
      const issued = await login();
      const response = await http().get(`/me?${name}=${issued.accessToken}`);
      expectUnauthorized(response, 'token_missing');
    });

    it('prefers the bearer header over the cookie: valid header + garbage cookie → 200 bearer', async () => {
      const issued = await login();
      const response = await http()
        .get('/me')
        .set('Authorization', `Bearer ${issued.accessToken}`)
        .set('Cookie', `${ACCESS_COOKIE}=garbage`);
      expect(response.status).toBe(200);
      expect(response.body.transport).toBe('bearer');
    });

    it('prefers the bearer header over the cookie: garbage header + valid cookie → 401', async () => {
      const issued = await login();
      const response = await http()
        .get('/me')
        .set('Authorization', 'Bearer garbage')
        .set('Cookie', `${ACCESS_COOKIE}=${issued.accessToken}`);
      expectUnauthorized(response, 'token_invalid');
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('answers 401 token_invalid with WWW-Authenticate for an invalid bearer token', async () => {
      const issued = await login();
      const [header, payload] = issued.accessToken.split('.');
      const response = await http().get('/me').set('Authorization', `Bearer ${header}.${payload}.AAAA`);
      expectUnauthorized(response, 'token_invalid');
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('answers 401 token_invalid without WWW-Authenticate for an invalid cookie', async () => {
      const response = await http().get('/me').set('Cookie', `${ACCESS_COOKIE}=not-a-token`);
      expectUnauthorized(response, 'token_invalid');
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('refuses a token signed with another secret', async () => {
      const issued = await login();
      const claims = tokens.verify(issued.accessToken);
      const forged = jsonwebtoken.sign({ ...claims, roles: ['admin'] }, 'another-secret-0123456789-0123456789-abc', {
        header: { alg: 'HS256', typ: 'at+jwt', kid },
      });
      expectUnauthorized(await http().get('/admin').set('Authorization', `Bearer ${forged}`), 'token_invalid');
    });

    it('refuses an alg:none token', async () => {
      const issued = await login();
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const unsigned = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(tokens.verify(issued.accessToken))}.`;
      expectUnauthorized(await http().get('/me').set('Authorization', `Bearer ${unsigned}`), 'token_invalid');
    });

    it('refuses a token with typ JWT signed with the right key', async () => {
      const issued = await login();
      const plain = jsonwebtoken.sign(tokens.verify(issued.accessToken), jwtSecret, {
        header: { alg: 'HS256', typ: 'JWT', kid },
      });
      expectUnauthorized(await http().get('/me').set('Authorization', `Bearer ${plain}`), 'token_invalid');
    });

    it('answers token_expired (with WWW-Authenticate) once the FakeClock passes exp plus skew', async () => {
      const issued = await login();
      clock.advance(10 * 60_000 + 5_000 - 1);
      expect((await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`)).status).toBe(200);
      clock.advance(1);
      const response = await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`);
      expectUnauthorized(response, 'token_expired');
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expectUnauthorized(
        await http().get('/me').set('Cookie', `${ACCESS_COOKIE}=${issued.accessToken}`),
        'token_expired',
      );
    });

    it('answers session_revoked for a token of a revoked session', async () => {
      const issued = await login();
      expect((await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`)).status).toBe(200);
      await sessions.revoke(issued.session.id);
      const response = await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`);
      expectUnauthorized(response, 'session_revoked');
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('answers 403 forbidden on a @Roles("admin") route for a user without the role', async () => {
      const issued = await login(['user']);
      const response = await http().get('/admin').set('Authorization', `Bearer ${issued.accessToken}`);
      expect(response.status).toBe(403);
      expect(response.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'Insufficient role', code: 'forbidden' });
    });

    it('lets a user with the role through a @Roles("admin") route', async () => {
      const issued = await login(['user', 'admin']);
      const response = await http().get('/admin').set('Authorization', `Bearer ${issued.accessToken}`);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ admin: true, roles: ['user', 'admin'] });
    });

    it('gives each request its own user: a handler changing its roles does not reach the next request with the same token', async () => {
      const issued = await login(['user']);
      const auth = `Bearer ${issued.accessToken}`;
      expect((await http().get('/mutate').set('Authorization', auth)).body).toEqual({ roles: ['user', 'admin'] });
      expect((await http().get('/admin').set('Authorization', auth)).status).toBe(403);
      expect((await http().get('/me').set('Authorization', auth)).body.user.roles).toEqual(['user']);
    });

    it('checks authentication before roles on a @Roles route', async () => {
      expectUnauthorized(await http().get('/admin'), 'token_missing');
    });

    it('answers token_invalid for "Authorization: Bearer" with nothing after it', async () => {
      const response = await http().get('/me').set('Authorization', 'Bearer');
      expectUnauthorized(response, 'token_invalid');
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });

    it('answers token_invalid for a bearer header with two tokens', async () => {
      const issued = await login();
      const response = await http().get('/me').set('Authorization', `Bearer ${issued.accessToken} ${issued.accessToken}`);
      expectUnauthorized(response, 'token_invalid');
    });

    it('answers token_missing for "Authorization: Basic" without a cookie', async () => {
      const response = await http().get('/me').set('Authorization', 'Basic dXNlcjpwYXNz');
      expectUnauthorized(response, 'token_missing');
      expect(response.headers['www-authenticate']).toBeUndefined();
    });

    it('uses the cookie when the Authorization header is not a bearer one', async () => {
      const issued = await login();
      const response = await http()
        .get('/me')
        .set('Authorization', 'Basic dXNlcjpwYXNz')
        .set('Cookie', `${ACCESS_COOKIE}=${issued.accessToken}`);
      expect(response.status).toBe(200);
      expect(response.body.transport).toBe('cookie');
    });

    it('answers token_invalid in strict mode when the token names a user other than the session owner', async () => {
      // Only strict mode reads the session; a token like this needs the signing key anyway.
      await app.close();
      await boot({ revocationMode: 'strict' });
      const issued = await login();
      const forged = resigned(issued.accessToken, { sub: 'user-2' });
      expectUnauthorized(await http().get('/me').set('Authorization', `Bearer ${forged}`), 'token_invalid');
    });

    // Regression: passport-jwt overwrites issuer/audience/algorithms/ignoreExpiration from its
    // top-level options, so the strategy must pass them there too, or the guard skips iss/aud.
    it.each([
      { what: 'with a foreign issuer', claim: { iss: 'https://evil.example' } },
      { what: 'for another audience', claim: { aud: 'another-api' } },
    ])('refuses a token $what, signed with the right key and kid', async ({ claim }) => {
      const issued = await login();
      const foreign = resigned(issued.accessToken, claim);
      expect(tokens.verify.bind(tokens, foreign)).toThrow('Access token is invalid');
      expectUnauthorized(await http().get('/me').set('Authorization', `Bearer ${foreign}`), 'token_invalid');
    });

    // RFC 7235 §2.1: the auth-scheme is a case-insensitive token.
    it('accepts the bearer scheme in lower case', async () => {
      const issued = await login();
      const response = await http().get('/me').set('Authorization', `bearer ${issued.accessToken}`);
      expect(response.status).toBe(200);
      expect(response.body.transport).toBe('bearer');
    });
  });

  describe('when the store fails in strict mode', () => {
    it('fails closed: 401 token_invalid, with WWW-Authenticate for a bearer token only', async () => {
      const store = new InMemorySessionStore();
      await boot({ revocationMode: 'strict', store });
      const issued = await login();
      jest.spyOn(store, 'findById').mockRejectedValue(new Error('connection refused'));
      const bearer = await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`);
      expectUnauthorized(bearer, 'token_invalid');
      expect(bearer.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      const cookie = await http().get('/me').set('Cookie', `${ACCESS_COOKIE}=${issued.accessToken}`);
      expectUnauthorized(cookie, 'token_invalid');
      expect(cookie.headers['www-authenticate']).toBeUndefined();
    });
  });

  describe('session expiry', () => {
    it('answers session_expired in strict mode when the session idles out while the access token is still valid', async () => {
      await boot({ accessTokenTtl: '10m', idleTimeout: '10m', revocationMode: 'strict' });
      const issued = await login();
      clock.advance(10 * 60_000);
      expectUnauthorized(
        await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`),
        'session_expired',
      );
    });
  });

  // Regression: expiry on the guard path must follow the injected clock and clockSkew only, and an
  // expired token must be reported as token_expired (clients refresh on it), never token_invalid.
  describe('uses the injected clock only', () => {
    it('accepts a fresh token when the injected clock is behind the wall clock', async () => {
      await boot({}, new Date('2020-01-01T00:00:00.000Z'));
      const issued = await login();
      const response = await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`);
      expect(response.status).toBe(200);
    });

    it('honours clockSkew when the injected clock is in step with the wall clock', async () => {
      // The FakeClock is set from the wall clock only to reproduce production, where both agree.
      const now = Date.now();
      await boot({}, new Date(now - 10 * 60_000 - 2_000));
      const issued = await login();
      clock.set(now);
      // 2 s past exp is inside the 5 s clockSkew: still valid by the configured rules.
      expect((await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`)).status).toBe(200);
    });

    it('reports token_expired, not token_invalid, for a token expired by a clock in step with the wall clock', async () => {
      // The FakeClock is set from the wall clock only to reproduce production, where both agree.
      const now = Date.now();
      await boot({}, new Date(now - 11 * 60_000));
      const issued = await login();
      clock.set(now);
      expect(tokens.verify.bind(tokens, issued.accessToken)).toThrow('Access token has expired');
      expectUnauthorized(await http().get('/me').set('Authorization', `Bearer ${issued.accessToken}`), 'token_expired');
    });
  });
});

/** The same strategy through @nestjs/passport's own guard, for apps that use `AuthGuard('tessera-jwt')`. */
@Controller('passport')
class PassportController {
  @UseGuards(AuthGuard(SESSION_JWT_STRATEGY))
  @Get()
  me(@Req() request: { user: unknown }) {
    return request.user;
  }
}

describe("SessionJwtStrategy through AuthGuard('tessera-jwt')", () => {
  let app: INestApplication;
  let sessions: SessionService;

  async function boot(options: Partial<TestSessionOptions> = {}): Promise<void> {
    ({ app } = await startSessionApp({ jwtSecret, sessionSecret, ...options }, { controllers: [PassportController] }));
    sessions = app.get(SessionService);
  }

  afterEach(() => app.close());

  it.each(['cached', 'strict'] as const)('authenticates a valid token and refuses others (%s mode)', async (revocationMode) => {
    await boot({ revocationMode });
    const issued = await sessions.create({ id: 'user-7', roles: ['user'] });
    const ok = await request(app.getHttpServer()).get('/passport').set('Authorization', `Bearer ${issued.accessToken}`);
    expect(ok.status).toBe(200);
    expect(ok.body.user).toEqual({ id: 'user-7', roles: ['user'], claims: {} });
    expect(ok.body.session).toEqual(expect.objectContaining({ id: issued.session.id, transport: 'bearer' }));

    expect((await request(app.getHttpServer()).get('/passport')).status).toBe(401);
    const [header, payload] = issued.accessToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    expect((await request(app.getHttpServer()).get('/passport').set('Authorization', `Bearer ${forged}`)).status).toBe(401);
    await sessions.revoke(issued.session.id);
    const revoked = await request(app.getHttpServer()).get('/passport').set('Authorization', `Bearer ${issued.accessToken}`);
    expect(revoked.status).toBe(401);
  });

  it('passes a store failure in strict mode on as an error (500), not as a refusal', async () => {
    const store = new InMemorySessionStore();
    await boot({ revocationMode: 'strict', store });
    const issued = await sessions.create({ id: 'user-7', roles: ['user'] });
    jest.spyOn(store, 'findById').mockRejectedValue(new Error('connection refused'));
    const failed = await request(app.getHttpServer()).get('/passport').set('Authorization', `Bearer ${issued.accessToken}`);
    expect(failed.status).toBe(500);
  });

  it('answers a store outage in strict mode 503 store_unavailable, not 401', async () => {
    const store = new OutageSessionStore();
    await boot({ revocationMode: 'strict', store });
    const issued = await sessions.create({ id: 'user-7', roles: ['user'] });
    store.down = true;
    const failed = await request(app.getHttpServer()).get('/passport').set('Authorization', `Bearer ${issued.accessToken}`);
    expect({ status: failed.status, code: failed.body.code }).toEqual({ status: 503, code: 'store_unavailable' });
  });
});
