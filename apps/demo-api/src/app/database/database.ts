import { sessionEntities, sessionMigrations } from '@tessera/session-typeorm';
import { DataSource } from 'typeorm';
import type { DataSourceOptions } from 'typeorm';
import { LoginAttemptEntity } from '../auth/login-attempt.entity';
import { UserEntity } from '../users/user.entity';
import { CreateUsers1764201700000 } from './1764201700000-create-users';
import { CreateAuthEvents1764201900000 } from './1764201900000-create-auth-events';
import { CreateLoginAttempts1764902000000 } from './1764902000000-create-login-attempts';

// Arbitrary constant naming "the demo's migrations" for pg_advisory_lock.
const MIGRATION_LOCK_KEY = 7_264_301;

/**
 * TypeORM options of the demo's one data source. `storeTimeoutMs` (STORE_TIMEOUT, the
 * app's pool only; migrations have no such bound) bounds every call on the pool: waiting
 * for a connection (`connectionTimeoutMillis`) and waiting for a statement's answer
 * (`query_timeout`, after which pg discards the connection), so a stuck database cannot
 * hold requests or connections forever.
 */
export function dataSourceOptions(url: string, storeTimeoutMs?: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    // The sessions' tables exist whichever store holds the sessions: SESSION_STORE can change between runs.
    entities: [...sessionEntities, UserEntity, LoginAttemptEntity],
    migrations: [...sessionMigrations, CreateUsers1764201700000, CreateAuthEvents1764201900000, CreateLoginAttempts1764902000000],
    migrationsRun: false,
    logging: false,
    applicationName: 'tessera-demo-api',
    extra: storeTimeoutMs
      ? { max: 20, connectionTimeoutMillis: storeTimeoutMs, query_timeout: storeTimeoutMs }
      : { max: 20, connectionTimeoutMillis: 5_000 },
  };
}

/**
 * Runs pending migrations in one transaction, holding an advisory lock so that
 * instances starting together apply them once (TypeORM itself does not lock).
 */
export async function runMigrations(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await dataSource.runMigrations({ transaction: 'all' });
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}

/**
 * Brings the schema up to date on a short-lived connection, before the app's modules
 * start (their bootstrap hooks already read the session table).
 */
export async function migrate(url: string): Promise<void> {
  const dataSource = new DataSource(dataSourceOptions(url));
  await dataSource.initialize();
  try {
    await runMigrations(dataSource);
  } finally {
    await dataSource.destroy();
  }
}
