import { Logger, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CsrfGuard, SessionGuard, SessionModule, SessionRoutesModule } from '@tessera/session';
import { PostgresSessionStore, sessionEntities, sessionMigrations, SessionTypeOrmModule } from '@tessera/session-typeorm';
import { ApiController } from './api.controller.js';
import { AuthController } from './auth.controller.js';
import { APP_CONFIG } from './config.js';
import type { AppConfig } from './config.js';
import { UsersService } from './users.service.js';

/** The README quick start's shape, with its settings from the environment (`AppModule.forRoot(loadConfig())`). */
@Module({})
export class AppModule implements OnApplicationShutdown {
  /** The app, configured; main.ts reads the configuration first so that a bad value is reported, not thrown at import. */
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // Tessera schedules its expired-session cleanup on the app's SchedulerRegistry (every 10 minutes by default).
        ScheduleModule.forRoot(),
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: config.databaseUrl,
          entities: [...sessionEntities],
          // The session tables and the revocation trigger, created or brought up to date at boot.
          migrations: [...sessionMigrations],
          migrationsRun: true,
        }),
        SessionModule.forRootAsync({
          isGlobal: true,
          imports: [SessionTypeOrmModule.forFeature()],
          inject: [PostgresSessionStore],
          useFactory: (store: PostgresSessionStore) => ({
            store,
            jwtSecret: config.jwtSecret,
            sessionSecret: config.sessionSecret,
            // The default, written out: a logout is refused at once by this instance, within a second by the others.
            revocationMode: 'cached',
          }),
        }),
        // GET /auth/csrf, POST /auth/refresh, /auth/logout, /auth/logout-all, GET /auth/sessions, DELETE /auth/sessions/:id
        SessionRoutesModule.forRoot({ prefix: 'auth' }),
      ],
      controllers: [AuthController, ApiController],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        UsersService,
        // Every route needs a live session unless it is @Public(); unsafe cookie-mode requests need the CSRF token.
        { provide: APP_GUARD, useExisting: SessionGuard },
        { provide: APP_GUARD, useExisting: CsrfGuard },
      ],
    };
  }

  /** Logged when Nest runs the shutdown hooks (on SIGTERM); the e2e checks that the app stops this way. */
  onApplicationShutdown(signal?: string): void {
    new Logger('App').log(`shut down${signal ? ` on ${signal}` : ''}`);
  }
}
