import { Body, Controller, Get, HttpCode, Module, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  CsrfGuard,
  CurrentUser,
  Public,
  SessionEndpoints,
  SessionGuard,
  SessionModule,
  SessionRoutesModule,
  SessionService,
} from '@tessera/session';
import type { AuthenticatedUser, RevocationMode, SessionUser } from '@tessera/session';
import { PostgresSessionStore, sessionEntities, sessionMigrations, SessionTypeOrmModule } from '@tessera/session-typeorm';
import type { Request, Response } from 'express';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { createOwnDatabase } from '../support/own-database';
import type { OwnDatabase } from '../support/own-database';

// What an app declares to type its claims (README, "Current roles and custom claims").
declare module '@tessera/session' {
  interface SessionClaims {
    tenantId?: string;
    plan?: 'free' | 'pro';
  }
  interface SessionUser {
    tenantId?: string;
    /** Test only: claims merged in as they are, to try what the library refuses. */
    extraClaims?: Record<string, unknown>;
  }
}

/** The app's users by id; what `resolveUser` reads. */
const directory = new Map<string, SessionUser>();

@Controller()
class GrantsController {
  constructor(private readonly endpoints: SessionEndpoints) {}

  /** Login by user id alone: credentials are not what this spec is about. */
  @Public()
  @Post('auth/login')
  @HttpCode(200)
  login(@Body() body: { id: string }, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const user = directory.get(body.id);
    if (!user) throw new UnauthorizedException();
    return this.endpoints.login(req, res, user);
  }

  @Get('whoami')
  whoami(@CurrentUser() user: AuthenticatedUser) {
    // Typed by the declaration above: a typo here would not compile.
    const tenant: string | undefined = user.claims.tenantId;
    return { ...user, tenant };
  }
}

function grantsModule(databaseUrl: string, revocationMode: RevocationMode) {
  @Module({
    imports: [
      TypeOrmModule.forRoot({
        type: 'postgres',
        url: databaseUrl,
        entities: [...sessionEntities],
        migrations: [...sessionMigrations],
        migrationsRun: true,
      }),
      SessionModule.forRootAsync({
        isGlobal: true,
        imports: [SessionTypeOrmModule.forFeature()],
        inject: [PostgresSessionStore],
        useFactory: (store: PostgresSessionStore) => ({
          store,
          jwtSecret: randomBytes(32),
          sessionSecret: randomBytes(32),
          revocationMode,
          resolveUser: async (id: string) => structuredClone(directory.get(id)),
          claims: (user: SessionUser) => ({ tenantId: user.tenantId, plan: 'pro' as const, ...user.extraClaims }),
        }),
      }),
      SessionRoutesModule.forRoot(),
    ],
    controllers: [GrantsController],
    providers: [
      { provide: APP_GUARD, useExisting: SessionGuard },
      { provide: APP_GUARD, useExisting: CsrfGuard },
    ],
  })
  class GrantsModule {}
  return GrantsModule;
}

/** Custom claims and current roles over HTTP, stored in PostgreSQL (jsonb), in each revocation mode. */
describe.each(['cached', 'strict'] as const)('claims and current roles over HTTP on PostgreSQL (%s)', (mode) => {
  let database: OwnDatabase;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    database = await createOwnDatabase('tessera_grants');
    app = await NestFactory.create(grantsModule(database.url, mode), { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  function newUser(fields: Partial<SessionUser> = {}): SessionUser {
    const user: SessionUser = {
      id: `u-${randomBytes(6).toString('hex')}`,
      roles: ['user'],
      tenantId: 'tenant-a',
      profile: { email: 'ada@example.com' },
      ...fields,
    };
    directory.set(user.id, user);
    return user;
  }

  const login = (id: string) => request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ id });
  const refresh = (refreshToken: string) =>
    request(url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken });
  const whoami = (token: string) => request(url).get('/whoami').set('Authorization', `Bearer ${token}`);
  const stored = async (sessionId: string) =>
    (await database.client.query('SELECT roles, claims, revoked_reason FROM tessera_sessions WHERE id = $1', [sessionId]))
      .rows[0];

  it('claims round-trip: login body, access token, @CurrentUser(), the jsonb column, and a refresh', async () => {
    const user = newUser({ extraClaims: { flags: { beta: true, quota: 3 }, tags: ['α', 'β'], note: null } });
    const issued = await login(user.id).expect(200);
    expect(issued.body.user).toEqual({ id: user.id, email: 'ada@example.com', roles: ['user'] });
    const claims = { tenantId: 'tenant-a', plan: 'pro', flags: { beta: true, quota: 3 }, tags: ['α', 'β'], note: null };
    const payload = JSON.parse(Buffer.from(issued.body.accessToken.split('.')[1], 'base64url').toString());
    expect(payload).toMatchObject({ sub: user.id, roles: ['user'], ...claims });
    expect((await whoami(issued.body.accessToken).expect(200)).body).toEqual({
      id: user.id,
      roles: ['user'],
      claims,
      tenant: 'tenant-a',
    });
    expect(await stored(issued.body.session.id)).toMatchObject({ roles: ['user'], claims, revoked_reason: null });
    const refreshed = await refresh(issued.body.refreshToken).expect(200);
    expect((await whoami(refreshed.body.accessToken).expect(200)).body.claims).toEqual(claims);
  });

  it('a change in the user store reaches the next refresh: roles and claims in the token and the row', async () => {
    const user = newUser({ roles: ['user', 'admin'] });
    const issued = await login(user.id).expect(200);
    directory.set(user.id, { ...user, roles: ['user'], tenantId: 'tenant-b' });
    const refreshed = await refresh(issued.body.refreshToken).expect(200);
    expect(refreshed.body.user.roles).toEqual(['user']);
    expect((await whoami(refreshed.body.accessToken).expect(200)).body).toMatchObject({
      roles: ['user'],
      claims: { tenantId: 'tenant-b', plan: 'pro' },
    });
    expect(await stored(issued.body.session.id)).toMatchObject({ roles: ['user'], claims: { tenantId: 'tenant-b', plan: 'pro' } });
  });

  it(`refreshUser: ${mode === 'strict' ? 'the very next request' : 'the next refresh'} carries the new roles`, async () => {
    const user = newUser({ roles: ['user', 'admin'] });
    const issued = await login(user.id).expect(200);
    directory.set(user.id, { ...user, roles: ['user'] });
    expect(await app.get(SessionService).refreshUser(user.id)).toEqual({ sessions: 1, revoked: 0 });
    const next = await whoami(issued.body.accessToken).expect(200);
    expect(next.body.roles).toEqual(mode === 'strict' ? ['user'] : ['user', 'admin']);
    const refreshed = await refresh(issued.body.refreshToken).expect(200);
    expect((await whoami(refreshed.body.accessToken).expect(200)).body.roles).toEqual(['user']);
  });

  it('a disabled user: the refresh answers 401 session_revoked and the row says user_disabled', async () => {
    const user = newUser();
    const issued = await login(user.id).expect(200);
    directory.set(user.id, { ...user, disabled: true });
    const refused = await refresh(issued.body.refreshToken).expect(401);
    expect(refused.body).toMatchObject({ code: 'session_revoked' });
    expect(refused.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(await stored(issued.body.session.id)).toMatchObject({ revoked_reason: 'user_disabled' });
    // The revocation reaches requests as any other does (cached: the feed; strict: the store).
    await waitFor(async () => (await whoami(issued.body.accessToken)).status === 401);
  });

  it.each([
    ['a reserved claim name', { sub: 'someone-else' }],
    ['claims over 1 kB', { blob: 'x'.repeat(1_100) }],
    ['a value that is not JSON', { when: new Date(0) }],
  ])('refuses %s at login: a bare 500, no token, no session stored', async (_case, extraClaims) => {
    const user = newUser({ extraClaims });
    const before = (await database.client.query('SELECT count(*)::int AS n FROM tessera_sessions')).rows[0].n;
    const refused = await login(user.id).expect(500);
    expect(refused.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    expect(refused.headers['set-cookie']).toBeUndefined();
    expect((await database.client.query('SELECT count(*)::int AS n FROM tessera_sessions')).rows[0].n).toBe(before);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
