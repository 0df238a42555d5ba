import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { TypeOrmModule, getRepositoryToken } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { CsrfGuard, SessionActivityInterceptor, SessionGuard, SessionModule, SessionRoutesModule } from '@tessera/session';
import type { SessionClock, SessionStore } from '@tessera/session';
import { AdminController } from './admin/admin.controller';
import { AuditTrailService } from './audit/audit-trail.service';
import { AuthController } from './auth/auth.controller';
import { LoginRateLimiter } from './auth/login-rate-limiter';
import { BenchController } from './bench/bench.controller';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { AppConfig } from './config/app-config';
import { dataSourceOptions } from './database/database';
import { DemoGraphqlModule } from './graphql/demo-graphql.module';
import { HealthController } from './health/health.controller';
import { JwksController } from './keys/jwks.controller';
import { MeController } from './me/me.controller';
import { RealtimeModule } from './realtime/realtime.module';
import { SessionListService } from './sessions/session-list.service';
import { SessionsController } from './sessions/sessions.controller';
import { BACKEND_SESSION_STORE, SessionBackendModule } from './session-backend.module';
import { UserEntity } from './users/user.entity';
import { UsersService, findSessionUser } from './users/users.service';
import { WebPageController } from './web/web-page.controller';
import { DEMO_METRICS, DemoMetricsModule } from './metrics/demo-metrics.module';
import type { DemoMetrics } from './metrics/demo-metrics';

/** Test-only replacements. */
export interface AppOverrides {
  /** Clock for every time rule (expiry tests move it instead of sleeping). */
  clock?: SessionClock;
}

/**
 * The demo app: users and audit in PostgreSQL, sessions in PostgreSQL or Redis
 * (`SessionBackendModule`, the one switch), `SessionGuard` on every route that is not `@Public()`.
 */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig, overrides: AppOverrides = {}): DynamicModule {
    if (!config.databaseUrl) throw new Error('AppModule needs config.databaseUrl (main.ts starts the embedded server)');
    const url = config.databaseUrl;
    // One instance for both imports below (Nest shares a dynamic module given as the same object).
    const backend = SessionBackendModule.forRoot(config);
    // Provided here, by the root module, which Nest shuts down last: they close after every user.
    const connections = SessionBackendModule.connections(config);
    // METRICS=on: the library's OpenTelemetry metrics, exported at GET /metrics (one instance for both imports).
    const metrics = DemoMetricsModule.forRoot(config);
    return {
      module: AppModule,
      global: true,
      imports: [
        backend,
        metrics,
        // The app, not the library, owns the scheduler (the cleanup job registers on it).
        ScheduleModule.forRoot(),
        // /health/live and /health/ready (a failed check is answered with 503, not logged by terminus).
        TerminusModule.forRoot({ logger: false }),
        TypeOrmModule.forRootAsync({
          // Fail fast at boot rather than retrying for half a minute.
          useFactory: () => ({ ...dataSourceOptions(url, config.store.timeoutMs), retryAttempts: 2, retryDelay: 1_000 }),
        }),
        TypeOrmModule.forFeature([UserEntity]),
        SessionModule.forRootAsync({
          // Global: SessionRoutesModule (and every feature module) reaches its services.
          isGlobal: true,
          imports: [backend, metrics, TypeOrmModule.forFeature([UserEntity])],
          inject: [BACKEND_SESSION_STORE, getRepositoryToken(UserEntity), DEMO_METRICS],
          // Already checked by loadConfig; the store, the users and the clock are added here.
          useFactory: (store: SessionStore, users: Repository<UserEntity>, demoMetrics: DemoMetrics | null) => ({
            ...config.session,
            store,
            // Roles are read at each refresh (cached a minute per instance; the admin roles
            // route calls refreshUser, which drops them everywhere at once).
            resolveUser: (id: string) => findSessionUser(users, id),
            userCache: { ttl: '1m' },
            clock: overrides.clock,
            telemetry: { meterProvider: demoMetrics?.meterProvider },
          }),
        }),
        // csrf, refresh, logout, logout-all, sessions: the library's; register and login stay in AuthController.
        SessionRoutesModule.forRoot({ prefix: 'auth', routes: { sessions: false } }),
        RealtimeModule,
        DemoGraphqlModule.forRoot(config),
      ],
      controllers: [
        HealthController,
        AuthController,
        SessionsController,
        MeController,
        AdminController,
        JwksController,
        WebPageController,
        ...(config.benchRoutes ? [BenchController] : []),
      ],
      providers: [
        { provide: AppConfig, useValue: config },
        ...connections.providers,
        UsersService,
        LoginRateLimiter,
        AuditTrailService,
        SessionListService,
        // Order matters: CsrfGuard needs to know how SessionGuard authenticated the request.
        { provide: APP_GUARD, useExisting: SessionGuard },
        { provide: APP_GUARD, useExisting: CsrfGuard },
        { provide: APP_INTERCEPTOR, useExisting: SessionActivityInterceptor },
        { provide: APP_FILTER, useClass: HttpExceptionFilter },
      ],
      exports: [AppConfig, UsersService, SessionListService, ...connections.exports],
    };
  }
}
