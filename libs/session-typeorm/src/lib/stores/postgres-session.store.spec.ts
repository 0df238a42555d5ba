import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { SessionRecord } from '@tessera/session';
import { describeSessionStoreContract, sessionRecordFixture } from '@tessera/session/testing';
import { DataSource } from 'typeorm';
import {
  PostgresSessionStore,
  sessionEntities,
  sessionMigrations,
  SessionTypeOrmModule,
  TypeOrmSessionStore,
} from '../../index';
import { dataSourcePool } from './data-source-pool';
import type { PostgresSessionStoreOptions } from './postgres-session.store';

function dataSourceFor(url: string, poolSize?: number): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: sessionEntities,
    migrations: sessionMigrations,
    migrationsTransactionMode: 'all',
    ...(poolSize ? { extra: { max: poolSize } } : {}),
  });
}

async function storeOn(
  url: string | undefined,
  opened: DataSource[],
  options: PostgresSessionStoreOptions & { poolSize?: number } = {},
): Promise<PostgresSessionStore> {
  if (!url) throw new Error('The PostgreSQL global setup did not provide a database URL');
  const dataSource = dataSourceFor(url, options.poolSize);
  await dataSource.initialize();
  await dataSource.runMigrations();
  opened.push(dataSource);
  return new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]), options);
}

const opened: DataSource[] = [];
// A test that fakes timers and times out must not leave them faked for the next one.
afterEach(() => {
  jest.useRealTimers();
});
afterAll(async () => {
  await Promise.all(opened.map((dataSource) => dataSource.destroy()));
});

describeSessionStoreContract('PostgreSQL server (TypeORM)', {
  setup: () => storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened),
  // Another app instance: its own data source on the same database.
  peer: () => storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened),
});

// The second server also covers the store without prepared statements (for poolers that cannot carry them)
// and without batched rotations and lookups. Skipped, with the reason printed by the global setup, where
// DATABASE_URL is set and no embedded server can start.
(process.env.TESSERA_EMBEDDED_UNAVAILABLE ? describe.skip : describe)('embedded PostgreSQL', () => {
  describeSessionStoreContract('embedded PostgreSQL (TypeORM, no prepared statements, no batching)', {
    setup: () =>
      storeOn(process.env.TESSERA_EMBEDDED_DATABASE_URL, opened, {
        preparedStatements: false,
        batchRotations: false,
        batchLookups: false,
      }),
    peer: () => storeOn(process.env.TESSERA_EMBEDDED_DATABASE_URL, opened),
  });
});

describe('migration AddTesseraSessionAuthenticatedAt', () => {
  it('gives existing sessions their login as authentication time, and rows written without the column now()', async () => {
    const base = process.env.TESSERA_TEST_DATABASE_URL;
    if (!base) throw new Error('The PostgreSQL global setup did not provide a database URL');
    const name = `tessera_mig_${process.pid}_${Date.now()}`;
    const admin = new DataSource({ type: 'postgres', url: base });
    await admin.initialize();
    await admin.query(`CREATE DATABASE "${name}"`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    const before = new DataSource({
      type: 'postgres',
      url: url.toString(),
      migrations: sessionMigrations.slice(0, 3),
      migrationsTransactionMode: 'all',
    });
    const after = dataSourceFor(url.toString());
    try {
      await before.initialize();
      await before.runMigrations();
      await before.query(
        `INSERT INTO tessera_sessions (id, user_id, refresh_hash, created_at, last_seen_at, expires_at, absolute_expires_at)
         VALUES ('old-session', 'u1', 'h', '2030-01-01T00:00:00Z', '2030-01-02T00:00:00Z', '2030-01-05T00:00:00Z', '2030-01-09T00:00:00Z')`,
      );
      await before.destroy();
      await after.initialize();
      await after.runMigrations();
      const store = new PostgresSessionStore(after.getRepository(sessionEntities[0]), {});
      expect((await store.findById('old-session'))?.authenticatedAt).toEqual(new Date('2030-01-01T00:00:00Z'));
      // Code that does not know the column (the previous version, during a rolling deploy).
      await after.query(
        `INSERT INTO tessera_sessions (id, user_id, refresh_hash, created_at, last_seen_at, expires_at, absolute_expires_at)
         VALUES ('legacy-insert', 'u1', 'h', now(), now(), now() + interval '1 day', now() + interval '2 days')`,
      );
      const legacy = await store.findById('legacy-insert');
      expect(Math.abs((legacy?.authenticatedAt.getTime() ?? 0) - (legacy?.createdAt.getTime() ?? 1e15))).toBeLessThan(60_000);
    } finally {
      if (before.isInitialized) await before.destroy();
      if (after.isInitialized) await after.destroy();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.destroy();
    }
  });
});

describe('PostgresSessionStore schema and wiring', () => {
  it('has migrations that produce exactly the schema the entity describes', async () => {
    const store = await storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened);
    expect(store).toBeInstanceOf(PostgresSessionStore);
    const pending = await opened[opened.length - 1].driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((query) => query.query)).toEqual([]);
  });

  it('creates the indexes for lookup by user, by expiry and by revocation time', async () => {
    await storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened);
    const rows: { indexname: string; indexdef: string }[] = await opened[opened.length - 1].query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'tessera_sessions' ORDER BY indexname`,
    );
    expect(rows.map((row) => row.indexname)).toEqual([
      'tessera_sessions_expires_idx',
      'tessera_sessions_pkey',
      'tessera_sessions_revoked_idx',
      'tessera_sessions_user_created_idx',
    ]);
    expect(rows.find((row) => row.indexname === 'tessera_sessions_user_created_idx')?.indexdef).toContain(
      '(user_id, created_at)',
    );
  });

  it.each([
    [true, ['create', 'find', 'revoke', 'rotate', 'touch']],
    [false, []],
  ])('prepares the per-request statements once per connection (preparedStatements: %p)', async (prepared, kinds) => {
    // One connection, so pg_prepared_statements (per session) shows what the store prepared on it.
    const store = await storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened, { preparedStatements: prepared, poolSize: 1 });
    const record = sessionRecordFixture();
    await store.create(record);
    for (let i = 0; i < 3; i++) await store.findById(record.id);
    const now = new Date();
    const rotated = await store.rotateRefresh(record.id, {
      expectedRefreshHash: record.refreshHash,
      refreshHash: 'successor-hash',
      now,
      expiresAt: new Date(now.getTime() + 60_000),
    });
    expect(rotated?.generation).toBe(1);
    expect(await store.touch(record.id, now, new Date(now.getTime() + 120_000))).toBe(true);
    expect(await store.revoke(record.id, 'logout', now)).toBe(true);
    const rows: { name: string }[] = await opened[opened.length - 1].query(
      `SELECT name FROM pg_prepared_statements WHERE name LIKE 'tessera\\_%' ORDER BY name`,
    );
    expect(rows.map((row) => row.name.split('_')[1])).toEqual(kinds);
    expect(rows.every((row) => /^tessera_[a-z]+_[0-9a-f]{12}$/.test(row.name))).toBe(true);
  });

  /** Counts the `verb` statements the store sends through its data source's pool (passing them on unchanged). */
  function countStatements(dataSource: DataSource, verb: 'UPDATE' | 'SELECT'): { count: number } {
    const pool = dataSourcePool(dataSource) as unknown as { query: (...args: unknown[]) => unknown };
    const query = pool.query.bind(pool);
    const counter = { count: 0 };
    pool.query = (...args: unknown[]) => {
      const config = args[0] as { text?: string } | string;
      if ((typeof config === 'string' ? config : (config.text ?? '')).trimStart().startsWith(verb)) counter.count++;
      return query(...args);
    };
    return counter;
  }

  /** A store on the test server, its data source, and `count` new sessions in it. */
  async function storeWithSessions(count: number, options: PostgresSessionStoreOptions = {}) {
    const store = await storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened, options);
    const records = Array.from({ length: count }, () => sessionRecordFixture());
    await Promise.all(records.map((record) => store.create(record)));
    return { store, records, dataSource: opened[opened.length - 1] };
  }

  const rotationOf = (record: SessionRecord, next: string) => {
    const now = new Date(record.createdAt.getTime() + 60_000);
    return { expectedRefreshHash: record.refreshHash, refreshHash: next, now, expiresAt: new Date(now.getTime() + 60_000) };
  };

  it.each([
    [true, 1],
    [false, 40],
  ])('rotates the refreshes that arrive together in one statement (batchRotations: %p: %p UPDATEs for 40)', async (batch, statements) => {
    const { store, records, dataSource } = await storeWithSessions(40, { batchRotations: batch });
    const updates = countStatements(dataSource, 'UPDATE');
    const rotated = await Promise.all(records.map((record, i) => store.rotateRefresh(record.id, rotationOf(record, `next-${i}`))));
    expect(rotated.map((record) => record?.refreshHash)).toEqual(records.map((_, i) => `next-${i}`));
    expect(updates.count).toBe(statements);
  });

  it.each([
    [true, 1],
    [false, 40],
  ])('looks up the sessions asked for together in one statement (batchLookups: %p: %p SELECTs for 40)', async (batch, statements) => {
    const { store, records, dataSource } = await storeWithSessions(30, { batchLookups: batch });
    const selects = countStatements(dataSource, 'SELECT');
    // 30 sessions, 10 of them asked for twice.
    const asked = [...records, ...records.slice(0, 10)];
    const found = await Promise.all(asked.map((record) => store.findById(record.id)));
    expect(found).toEqual(asked);
    expect(selects.count).toBe(statements);
  });

  it('rotates while a test fakes timers (the batch is scheduled with the real setImmediate)', async () => {
    const { store, records } = await storeWithSessions(2);
    // pg itself needs process.nextTick; setImmediate and the rest are faked.
    jest.useFakeTimers({ doNotFake: ['nextTick'] });
    const rotated = await Promise.all(records.map((record, i) => store.rotateRefresh(record.id, rotationOf(record, `t-${i}`))));
    expect(rotated.map((record) => record?.generation)).toEqual([1, 1]);
  });

  it('runs a batch that PostgreSQL rolled back for a deadlock again row by row, and fails a batch on any other error', async () => {
    const { store, records, dataSource } = await storeWithSessions(4);
    const [deadlocked, failing] = [records.slice(0, 2), records.slice(2)];
    // A real PostgreSQL error from inside the rotation statement, for this test's sessions
    // and only on the first row it reaches (a sequence counts across rollbacks): 40P01 as
    // a deadlock victim gets it, so the batch fails once and its rows alone do not.
    await dataSource.query(`CREATE TABLE IF NOT EXISTS tessera_test_batch_errors (id text PRIMARY KEY, code text NOT NULL)`);
    await dataSource.query(`DROP SEQUENCE IF EXISTS tessera_test_batch_attempts`);
    await dataSource.query(`CREATE SEQUENCE tessera_test_batch_attempts`);
    await dataSource.query(`INSERT INTO tessera_test_batch_errors (id, code) SELECT unnest($1::text[]), unnest($2::text[])`, [
      records.map((record) => record.id),
      ['40P01', '40P01', 'XX000', 'XX000'],
    ]);
    await dataSource.query(`
      CREATE OR REPLACE FUNCTION tessera_test_batch_error() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE wanted text;
      BEGIN
        SELECT code INTO wanted FROM tessera_test_batch_errors WHERE id = NEW.id;
        IF wanted IS NOT NULL AND nextval('tessera_test_batch_attempts') = 1 THEN
          RAISE EXCEPTION 'simulated batch failure' USING ERRCODE = wanted;
        END IF;
        RETURN NEW;
      END $$`);
    await dataSource.query(`
      CREATE TRIGGER tessera_test_batch_error BEFORE UPDATE ON tessera_sessions
        FOR EACH ROW EXECUTE FUNCTION tessera_test_batch_error()`);
    try {
      const updates = countStatements(dataSource, 'UPDATE');
      const retried = await Promise.all(deadlocked.map((record, i) => store.rotateRefresh(record.id, rotationOf(record, `d-${i}`))));
      expect(retried.map((record) => record?.refreshHash)).toEqual(['d-0', 'd-1']);
      expect(updates.count).toBe(3);
      await dataSource.query(`SELECT setval('tessera_test_batch_attempts', 1, false)`);
      const outcomes = await Promise.allSettled(failing.map((record, i) => store.rotateRefresh(record.id, rotationOf(record, `f-${i}`))));
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
      expect((await store.findById(failing[0].id))?.refreshHash).toBe(failing[0].refreshHash);
    } finally {
      await dataSource.query(`DROP TRIGGER tessera_test_batch_error ON tessera_sessions`);
      await dataSource.query(`DROP FUNCTION tessera_test_batch_error()`);
      await dataSource.query(`DROP TABLE tessera_test_batch_errors`);
      await dataSource.query(`DROP SEQUENCE tessera_test_batch_attempts`);
    }
  });

  it('is provided by SessionTypeOrmModule.forFeature on the connection the app owns', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: process.env.TESSERA_TEST_DATABASE_URL,
          entities: sessionEntities,
          migrations: sessionMigrations,
          migrationsRun: true,
          retryAttempts: 0,
        }),
        SessionTypeOrmModule.forFeature(),
      ],
    }).compile();
    try {
      const store = moduleRef.get(PostgresSessionStore);
      // The former name still reaches it.
      expect(moduleRef.get(TypeOrmSessionStore)).toBe(store);
      const record = sessionRecordFixture();
      await store.create(record);
      expect(await store.findById(record.id)).toEqual(record);
      expect(moduleRef.get(DataSource).isInitialized).toBe(true);
    } finally {
      await moduleRef.close();
    }
  });
});
