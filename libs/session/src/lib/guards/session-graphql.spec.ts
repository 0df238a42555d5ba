import { ApolloDriver } from '@nestjs/apollo';
import type { ApolloDriverConfig } from '@nestjs/apollo';
import { UseGuards } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { Args, Context, Field, GraphQLModule, ID, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { Response } from 'supertest';
import { FakeClock } from '../../testing';
import { Browser, ROUTES_ORIGIN as ORIGIN, bearerLogin } from '../../../test/support/route-clients';
import { OutageSessionStore } from '../../../test/support/outage-session.store';
import { CurrentSession } from '../decorators/current-session.decorator';
import { CurrentUser } from '../decorators/current-user.decorator';
import { Public } from '../decorators/public.decorator';
import { RequireFreshSession } from '../decorators/require-fresh-session.decorator';
import { Roles } from '../decorators/roles.decorator';
import type { AuthenticatedSession, AuthenticatedUser } from '../interfaces/authenticated.interface';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface';
import { SessionRoutesModule } from '../routes/session-routes.module';
import { SessionEndpoints } from '../services/session-endpoints.service';
import { SessionService } from '../services/session.service';
import { SessionModule } from '../session.module';
import { sessionGraphqlFormatError } from '../utils/graphql-error.util';
import { CsrfGuard } from './csrf.guard';
import { SessionGuard } from './session.guard';
import { TestLoginController } from '../../../test/support/login.controller';

const jwtSecret = 'graphql-spec-jwt-secret-0123456789-abcdefg';
const sessionSecret = 'graphql-spec-session-secret-0123456789-abc';
const START = new Date('2030-01-01T00:00:00.000Z');

@ObjectType()
class Principal {
  @Field(() => ID) id!: string;
  @Field(() => [String]) roles!: string[];
  @Field(() => ID) sessionId!: string;
  @Field() transport!: string;
}

/** Resolvers covered by the global guards (when mounted). */
@Resolver()
class ProbeResolver {
  constructor(private readonly endpoints: SessionEndpoints) {}

  @Public()
  @Query(() => String)
  health(): string {
    return 'ok';
  }

  @Query(() => Principal)
  me(@CurrentUser() user: AuthenticatedUser, @CurrentSession() session: AuthenticatedSession): Principal {
    return { id: user.id, roles: user.roles, sessionId: session.id, transport: session.transport };
  }

  @Query(() => ID)
  userId(@CurrentUser('id') id: string): string {
    return id;
  }

  @Roles('admin')
  @Query(() => String)
  adminOnly(): string {
    return 'secret of the admins';
  }

  @RequireFreshSession('1m')
  @Query(() => String)
  sensitive(): string {
    return 'fresh enough';
  }

  @Query(() => String)
  boom(): string {
    throw new Error('relation "users" violates select password_hash from users');
  }

  @Mutation(() => Boolean)
  async revokeSession(@Args('id', { type: () => ID }) id: string, @Context() context: { req: object; res?: object; reply?: object }) {
    await this.endpoints.revokeSession(context.req, (context.res ?? context.reply) as object, id);
    return true;
  }
}

/** Public at class level: every field passes without a credential. */
@Public()
@Resolver()
class OpenResolver {
  @Query(() => String)
  version(): string {
    return '1';
  }
}

/** Guarded by `@UseGuards`, for apps that mount no global guard. */
@UseGuards(SessionGuard)
@Resolver()
class GuardedResolver {
  @Query(() => ID)
  guardedUserId(@CurrentUser('id') id: string): string {
    return id;
  }
}

interface Booted {
  app: INestApplication;
  clock: FakeClock;
  http: ReturnType<INestApplication['getHttpServer']>;
}

const running: INestApplication[] = [];
const savedNodeEnv = process.env.NODE_ENV;

async function boot(
  options: { globalGuards?: boolean; session?: Partial<SessionModuleOptions>; fastify?: boolean } = {},
): Promise<Booted> {
  const clock = new FakeClock(START);
  const moduleRef = await Test.createTestingModule({
    imports: [
      SessionModule.forRoot({ isGlobal: true, jwtSecret, sessionSecret, clock, csrf: { allowedOrigins: [ORIGIN] }, ...options.session }),
      SessionRoutesModule.forRoot(),
      GraphQLModule.forRoot<ApolloDriverConfig>({
        driver: ApolloDriver,
        autoSchemaFile: true,
        formatError: sessionGraphqlFormatError,
        // Fastify's request does not lead to its reply: hand both to the resolvers.
        ...(options.fastify ? { context: (req: object, reply: object) => ({ req, reply }) } : {}),
      }),
    ],
    controllers: [TestLoginController],
    providers: [
      ProbeResolver,
      OpenResolver,
      GuardedResolver,
      ...(options.globalGuards === false
        ? []
        : [
            { provide: APP_GUARD, useExisting: SessionGuard },
            { provide: APP_GUARD, useExisting: CsrfGuard },
          ]),
    ],
  }).compile();
  const app = options.fastify
    ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false })
    : moduleRef.createNestApplication({ logger: false });
  running.push(app);
  await app.init();
  if (options.fastify) await (app as NestFastifyApplication).getHttpAdapter().getInstance().ready();
  return { app, clock, http: app.getHttpServer() };
}

beforeAll(() => {
  // Apollo adds `extensions.stacktrace` to every error outside `production` and `test`:
  // run as in development, so that the specs prove none leaves anyway.
  process.env.NODE_ENV = 'development';
});

afterAll(() => {
  process.env.NODE_ENV = savedNodeEnv;
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

/** A GraphQL POST (JSON); `headers` are added as given. */
function graphql(http: Booted['http'], query: string, headers: Record<string, string> = {}, variables?: object) {
  let pending = request(http).post('/graphql').set('Content-Type', 'application/json');
  for (const [name, value] of Object.entries(headers)) pending = pending.set(name, value);
  return pending.send({ query, variables });
}

/** The only error of a response, checked to carry no internals. */
function onlyError(response: Response): { message: string; extensions: Record<string, unknown>; path?: string[] } {
  expect(response.status).toBe(200);
  expect(response.body.errors).toHaveLength(1);
  expect(response.text).not.toMatch(/stacktrace|originalError|at [A-Za-z.]+ \(|password_hash|eyJ/);
  return response.body.errors[0];
}

describe('SessionGuard, CsrfGuard and the decorators on GraphQL resolvers (Apollo, Express, real HTTP)', () => {
  let booted: Booted;

  beforeEach(async () => {
    booted = await boot();
  });

  it('@RequireFreshSession() on a resolver: a stale session gets extensions.code reauthentication_required, status 401', async () => {
    const login = await bearerLogin(booted.http, 'ada');
    const headers = { Authorization: `Bearer ${login.accessToken}` };
    expect((await graphql(booted.http, '{ sensitive }', headers).expect(200)).body).toEqual({ data: { sensitive: 'fresh enough' } });
    booted.clock.advance(61_000);
    const error = onlyError(await graphql(booted.http, '{ sensitive }', headers));
    expect(error.extensions).toEqual({ code: 'reauthentication_required', status: 401 });
    expect(error.path).toEqual(['sensitive']);
  });

  it('lets a @Public() field (handler or class) through without a credential', async () => {
    const response = await graphql(booted.http, '{ health version }').expect(200);
    expect(response.body).toEqual({ data: { health: 'ok', version: '1' } });
  });

  it('answers a field that needs a session, without one, with extensions.code token_missing and status 401', async () => {
    const error = onlyError(await graphql(booted.http, '{ me { id } }'));
    expect(error).toEqual({
      message: 'Authentication required',
      locations: [{ line: 1, column: 3 }],
      path: ['me'],
      extensions: { code: 'token_missing', status: 401 },
    });
  });

  it('resolves @CurrentUser() and @CurrentSession() for a bearer token', async () => {
    const login = await bearerLogin(booted.http, 'ada');
    const response = await graphql(booted.http, '{ me { id roles sessionId transport } userId }', {
      Authorization: `Bearer ${login.accessToken}`,
    }).expect(200);
    expect(response.body).toEqual({
      data: { me: { id: 'ada', roles: ['user'], sessionId: login.sessionId, transport: 'bearer' }, userId: 'ada' },
    });
  });

  it('answers token_invalid and token_expired with their codes', async () => {
    const invalid = onlyError(await graphql(booted.http, '{ me { id } }', { Authorization: 'Bearer not.a.token' }));
    expect(invalid.extensions).toEqual({ code: 'token_invalid', status: 401 });

    const login = await bearerLogin(booted.http, 'ada');
    booted.clock.advance(11 * 60_000); // past the default 10-minute access token
    const expired = onlyError(await graphql(booted.http, '{ me { id } }', { Authorization: `Bearer ${login.accessToken}` }));
    expect(expired.extensions).toEqual({ code: 'token_expired', status: 401 });
  });

  it('enforces @Roles() on a resolver: forbidden (403) without the role, the field with it', async () => {
    const user = await bearerLogin(booted.http, 'ada');
    const refused = onlyError(await graphql(booted.http, '{ adminOnly }', { Authorization: `Bearer ${user.accessToken}` }));
    expect(refused).toMatchObject({ message: 'Insufficient role', extensions: { code: 'forbidden', status: 403 } });

    const admin = await request(booted.http).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ user: 'root', roles: ['admin'] });
    const allowed = await graphql(booted.http, '{ adminOnly }', { Authorization: `Bearer ${admin.body.accessToken}` }).expect(200);
    expect(allowed.body).toEqual({ data: { adminOnly: 'secret of the admins' } });
  });

  it('masks an unexpected resolver error as internal_error, with no message, SQL or stack of it', async () => {
    const login = await bearerLogin(booted.http, 'ada');
    const error = onlyError(await graphql(booted.http, '{ boom }', { Authorization: `Bearer ${login.accessToken}` }));
    expect(error).toMatchObject({ message: 'Internal server error', extensions: { code: 'internal_error', status: 500 } });
  });

  it('leaves the request errors of GraphQL itself as they are, without a stack trace', async () => {
    const response = await graphql(booted.http, '{ nope }').expect(400);
    expect(response.body.errors[0].extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  describe('cookie mode', () => {
    let browser: Browser;

    beforeEach(async () => {
      browser = new Browser(booted.http);
      expect((await browser.login('ada')).status).toBe(200);
    });

    function cookies(): Record<string, string> {
      return { Cookie: browser.jar.header('/graphql') };
    }

    it('passes a query without a CSRF token, over POST and over GET', async () => {
      const post = await graphql(booted.http, '{ userId }', cookies()).expect(200);
      expect(post.body).toEqual({ data: { userId: 'ada' } });
      const get = await request(booted.http)
        .get('/graphql')
        .query({ query: '{ userId }' })
        .set(cookies())
        .set('Apollo-Require-Preflight', 'true')
        .expect(200);
      expect(get.body).toEqual({ data: { userId: 'ada' } });
    });

    it('refuses a mutation without X-CSRF-Token (csrf_failed, 403) and runs it with the token', async () => {
      const other = await bearerLogin(booted.http, 'ada');
      const mutation = 'mutation($id: ID!) { revokeSession(id: $id) }';
      const refused = onlyError(await graphql(booted.http, mutation, { ...cookies(), Origin: ORIGIN }, { id: other.sessionId }));
      expect(refused).toMatchObject({ message: expect.stringContaining('CSRF'), extensions: { code: 'csrf_failed', status: 403 } });
      // The refused mutation changed nothing: the other session still works.
      await graphql(booted.http, '{ userId }', { Authorization: `Bearer ${other.accessToken}` }).expect(200, { data: { userId: 'ada' } });

      const csrf = browser.jar.get('__Host-tessera-csrf') as string;
      const crossSite = onlyError(
        await graphql(booted.http, mutation, { ...cookies(), Origin: 'https://evil.example', 'X-CSRF-Token': csrf }, { id: other.sessionId }),
      );
      expect(crossSite.extensions).toEqual({ code: 'csrf_failed', status: 403 });

      const done = await graphql(booted.http, mutation, { ...cookies(), Origin: ORIGIN, 'X-CSRF-Token': csrf }, { id: other.sessionId }).expect(200);
      expect(done.body).toEqual({ data: { revokeSession: true } });
      const revoked = onlyError(await graphql(booted.http, '{ userId }', { Authorization: `Bearer ${other.accessToken}` }));
      expect(revoked.extensions).toEqual({ code: 'session_revoked', status: 401 });
    });

    it("answers session_not_found (404) for another user's session, which keeps working", async () => {
      const stranger = await bearerLogin(booted.http, 'eve');
      const csrf = browser.jar.get('__Host-tessera-csrf') as string;
      const error = onlyError(
        await graphql(booted.http, 'mutation($id: ID!) { revokeSession(id: $id) }', { ...cookies(), Origin: ORIGIN, 'X-CSRF-Token': csrf }, {
          id: stranger.sessionId,
        }),
      );
      expect(error).toMatchObject({ message: 'No such session', path: ['revokeSession'], extensions: { code: 'session_not_found', status: 404 } });
      await graphql(booted.http, '{ userId }', { Authorization: `Bearer ${stranger.accessToken}` }).expect(200, { data: { userId: 'eve' } });
    });

    it('does not run a mutation sent as GET', async () => {
      const other = await bearerLogin(booted.http, 'ada');
      const response = await request(booted.http)
        .get('/graphql')
        .query({ query: `mutation { revokeSession(id: "${other.sessionId}") }` })
        .set(cookies())
        .set('Apollo-Require-Preflight', 'true');
      expect(response.status).toBe(405);
      await graphql(booted.http, '{ userId }', { Authorization: `Bearer ${other.accessToken}` }).expect(200, { data: { userId: 'ada' } });
    });
  });
});

describe('SessionGuard on GraphQL resolvers without global guards', () => {
  it('guards a resolver through @UseGuards(SessionGuard), and leaves the others alone', async () => {
    const booted = await boot({ globalGuards: false });
    const refused = onlyError(await graphql(booted.http, '{ guardedUserId }'));
    expect(refused.extensions).toEqual({ code: 'token_missing', status: 401 });
    const login = await bearerLogin(booted.http, 'ada');
    const allowed = await graphql(booted.http, '{ guardedUserId }', { Authorization: `Bearer ${login.accessToken}` }).expect(200);
    expect(allowed.body).toEqual({ data: { guardedUserId: 'ada' } });
  });
});

describe('a store outage on GraphQL (strict mode)', () => {
  it('answers store_unavailable (503) with retryAfter, and Retry-After on the response', async () => {
    const store = new OutageSessionStore();
    const booted = await boot({ session: { store, revocationMode: 'strict' } });
    const login = await bearerLogin(booted.http, 'ada');
    store.down = true;
    const response = await graphql(booted.http, '{ userId }', { Authorization: `Bearer ${login.accessToken}` });
    const error = onlyError(response);
    expect(error).toMatchObject({ extensions: { code: 'store_unavailable', status: 503, retryAfter: 2 } });
    expect(response.headers['retry-after']).toBe('2');
    expect(store.refused).toContain('findById');
  });
});

describe('SessionGuard on GraphQL resolvers (Apollo on Fastify, real HTTP)', () => {
  it('reads the request of the Fastify integration: public field, bearer session, codes', async () => {
    const booted = await boot({ fastify: true });
    await graphql(booted.http, '{ health }').expect(200, { data: { health: 'ok' } });
    expect(onlyError(await graphql(booted.http, '{ userId }')).extensions).toEqual({ code: 'token_missing', status: 401 });
    // Tokens straight from SessionService: the login route answers through the Express
    // HTTP adapter, which a Fastify reply does not fit (the Fastify adapter is not this spec's).
    const issued = await booted.app.get(SessionService).create({ id: 'ada', roles: ['user'] });
    const login = { accessToken: issued.accessToken, sessionId: issued.session.id };
    const me = await graphql(booted.http, '{ me { id sessionId transport } }', { Authorization: `Bearer ${login.accessToken}` }).expect(200);
    expect(me.body).toEqual({ data: { me: { id: 'ada', sessionId: login.sessionId, transport: 'bearer' } } });
    const refused = onlyError(await graphql(booted.http, '{ adminOnly }', { Authorization: `Bearer ${login.accessToken}` }));
    expect(refused.extensions).toEqual({ code: 'forbidden', status: 403 });
  });
});
