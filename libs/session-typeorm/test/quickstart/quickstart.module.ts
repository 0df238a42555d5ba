import { Body, Controller, HttpCode, Injectable, Module, Post, Req, Res, UnauthorizedException } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CsrfGuard, Public, SessionEndpoints, SessionGuard, SessionModule, SessionRoutesModule } from '@tessera/session';
import type { SessionUser } from '@tessera/session';
import { PostgresSessionStore, sessionEntities, sessionMigrations, SessionTypeOrmModule } from '@tessera/session-typeorm';
import type { Request, Response } from 'express';
import { randomBytes, randomUUID, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const hashPassword = promisify(scrypt) as (password: string, salt: Buffer, length: number) => Promise<Buffer>;

/** Your users. This stand-in keeps them in memory; yours live in your database. */
@Injectable()
export class Users {
  private readonly byEmail = new Map<string, { id: string; salt: Buffer; hash: Buffer }>();

  async add(email: string, password: string): Promise<string> {
    const salt = randomBytes(16);
    const id = randomUUID();
    this.byEmail.set(email, { id, salt, hash: await hashPassword(password, salt, 32) });
    return id;
  }

  /** The user these credentials belong to, as Tessera takes it; null when they are wrong. */
  async verify(email: unknown, password: unknown): Promise<SessionUser | null> {
    if (typeof email !== 'string' || typeof password !== 'string') return null;
    const user = this.byEmail.get(email);
    if (!user || !timingSafeEqual(await hashPassword(password, user.salt, 32), user.hash)) return null;
    return { id: user.id, roles: ['user'], profile: { email } };
  }
}

/** The one route the app writes itself: check the credentials, then let Tessera start the session. */
@Controller('auth')
export class LoginController {
  constructor(
    private readonly users: Users,
    private readonly endpoints: SessionEndpoints,
  ) {}

  @Public()
  @Post('login')
  @HttpCode(200)
  async login(
    @Body() body: { email?: unknown; password?: unknown } | undefined,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ) {
    const user = await this.users.verify(body?.email, body?.password);
    if (!user) {
      throw new UnauthorizedException({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Invalid email or password',
        code: 'invalid_credentials',
      });
    }
    // Cookies or a JSON body, as the request asks (X-Auth-Mode: bearer); always a new session.
    return this.endpoints.login(request, response, user);
  }
}

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      useFactory: () => ({
        type: 'postgres',
        url: process.env.DATABASE_URL,
        entities: [...sessionEntities],
        migrations: [...sessionMigrations],
        migrationsRun: true,
      }),
    }),
    SessionModule.forRootAsync({
      isGlobal: true,
      imports: [SessionTypeOrmModule.forFeature()],
      inject: [PostgresSessionStore],
      useFactory: (store: PostgresSessionStore) => ({
        store,
        jwtSecret: process.env.JWT_SECRET ?? '', // 32+ random bytes
        sessionSecret: process.env.SESSION_SECRET ?? '', // 32+ random bytes, not the same
      }),
    }),
    // GET /auth/csrf, POST /auth/refresh, /auth/logout, /auth/logout-all, GET /auth/sessions, DELETE /auth/sessions/:id
    SessionRoutesModule.forRoot({ prefix: 'auth' }),
  ],
  controllers: [LoginController],
  providers: [
    Users,
    // Every route needs a live session unless it is @Public(); unsafe cookie-mode requests need the CSRF token.
    { provide: APP_GUARD, useExisting: SessionGuard },
    { provide: APP_GUARD, useExisting: CsrfGuard },
  ],
})
export class AppModule {}
