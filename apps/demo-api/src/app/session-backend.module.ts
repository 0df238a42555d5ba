import { Injectable, Module } from '@nestjs/common';
import type { DynamicModule, InjectionToken, Provider } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { parseDuration } from '@tessera/session';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { RedisSessionHealthIndicator, RedisSessionStore, SessionRedisModule } from '@tessera/session-redis';
import { PostgresSessionHealthIndicator, PostgresSessionStore, SessionTypeOrmModule } from '@tessera/session-typeorm';
import type { DataSource } from 'typeorm';
import { LoginAttemptStore } from './auth/login-attempt.store';
import { PostgresLoginAttemptStore } from './auth/postgres-login-attempt.store';
import { RedisLoginAttemptStore } from './auth/redis-login-attempt.store';
import type { AppConfig } from './config/app-config';
import type { SessionStoreKind } from './config/session-store';
import { DemoRedis, demoRedisProvider } from './redis/demo-redis';

/** Token of the `SessionStore` the chosen backend provides, for `SessionModule.forRootAsync`. */
export const BACKEND_SESSION_STORE = Symbol('DemoBackendSessionStore');

/** Whether the session store's backend answers (`GET /health`). */
export abstract class SessionStoreProbe {
  /** Which backend holds the sessions. */
  abstract readonly kind: SessionStoreKind;
  /** Resolves when the backend answered within `timeoutMs`; rejects otherwise. */
  abstract check(timeoutMs: number): Promise<void>;
  /** The store package's terminus indicator: store round trip, revocation feed connected, feed staleness. */
  abstract health(key: string, timeoutMs: number): Promise<HealthIndicatorResult>;
}

/** Probes PostgreSQL with `SELECT 1` (the sessions share the database's pool). */
@Injectable()
class PostgresStoreProbe extends SessionStoreProbe {
  readonly kind = 'postgres';

  private readonly indicator: PostgresSessionHealthIndicator;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    store: PostgresSessionStore,
  ) {
    super();
    this.indicator = new PostgresSessionHealthIndicator(store);
  }

  health(key: string, timeoutMs: number): Promise<HealthIndicatorResult> {
    return this.indicator.isHealthy(key, { timeoutMs });
  }

  async check(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.dataSource.query('SELECT 1'),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Probes Redis with `PING` through the demo's connection. */
@Injectable()
class RedisStoreProbe extends SessionStoreProbe {
  readonly kind = 'redis';

  private readonly indicator: RedisSessionHealthIndicator;

  constructor(
    private readonly redis: DemoRedis,
    store: RedisSessionStore,
  ) {
    super();
    this.indicator = new RedisSessionHealthIndicator(store);
  }

  health(key: string, timeoutMs: number): Promise<HealthIndicatorResult> {
    return this.indicator.isHealthy(key, { timeoutMs });
  }

  check(timeoutMs: number): Promise<void> {
    return this.redis.ping(timeoutMs);
  }
}

/** Extra time `listRevokedSince` must cover beyond an access token's lifetime: clock skew and a feed outage. */
const REVOCATION_WINDOW_MARGIN_MS = 5 * 60_000;
const HOUR_MS = 60 * 60_000;

/**
 * How far back the Redis store answers `listRevokedSince`: what `cached` mode asks for
 * after a feed outage, an access token's lifetime plus the clock-skew leeway; never less
 * than the store's default hour.
 */
function revocationWindowMs(config: AppConfig): number {
  const accessTokenTtl = parseDuration(config.session.accessTokenTtl ?? '10m') ?? 10 * 60_000;
  return Math.max(HOUR_MS, accessTokenTtl + REVOCATION_WINDOW_MARGIN_MS);
}

/**
 * The one switch between the session backends (SESSION_STORE): sessions, their revocation
 * feed and the login-attempt counters live in PostgreSQL or in Redis; users and the audit
 * trail stay in PostgreSQL either way. Provides the `SessionStore` (`BACKEND_SESSION_STORE`),
 * `LoginAttemptStore` and `SessionStoreProbe`; everything else is the same for both.
 */
@Module({})
export class SessionBackendModule {
  /**
   * The connections the backend needs, for the root module to provide and export: Nest shuts
   * the root module down last, so they close after every module using them. Redis: the
   * demo's connection (`DemoRedis`); PostgreSQL: none (TypeORM's pool is the app's already).
   */
  static connections(config: AppConfig): { providers: Provider[]; exports: InjectionToken[] } {
    return config.store.kind === 'redis' ? { providers: [demoRedisProvider(config.store)], exports: [DemoRedis] } : { providers: [], exports: [] };
  }

  /** The backend's module: import it where `BACKEND_SESSION_STORE` is injected (see `connections` for what the root provides). */
  static forRoot(config: AppConfig): DynamicModule {
    const provided = [BACKEND_SESSION_STORE, LoginAttemptStore, SessionStoreProbe];
    if (config.store.kind === 'postgres') {
      return {
        module: SessionBackendModule,
        // STORE_TIMEOUT bounds every session statement, as it bounds every Redis call.
        imports: [SessionTypeOrmModule.forFeature({ commandTimeout: config.store.timeoutMs })],
        providers: [
          { provide: BACKEND_SESSION_STORE, useExisting: PostgresSessionStore },
          PostgresLoginAttemptStore,
          { provide: LoginAttemptStore, useExisting: PostgresLoginAttemptStore },
          { provide: SessionStoreProbe, useClass: PostgresStoreProbe },
        ],
        exports: provided,
      };
    }
    return {
      module: SessionBackendModule,
      imports: [
        SessionRedisModule.forRootAsync({
          // DemoRedis comes from the root module (global).
          inject: [DemoRedis],
          useFactory: (demoRedis: DemoRedis) => ({
            client: demoRedis.connection,
            keyPrefix: demoRedis.keyPrefix,
            commandTimeout: demoRedis.timeoutMs,
            revocationWindow: revocationWindowMs(config),
            // Ended sessions stay as long as the cleanup keeps them in PostgreSQL (the library's 7 days).
            retention: config.session.cleanup?.retention ?? '7d',
          }),
        }),
      ],
      providers: [
        { provide: BACKEND_SESSION_STORE, useExisting: RedisSessionStore },
        RedisLoginAttemptStore,
        { provide: LoginAttemptStore, useExisting: RedisLoginAttemptStore },
        { provide: SessionStoreProbe, useClass: RedisStoreProbe },
      ],
      exports: provided,
    };
  }
}
