import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { describeSessionStoreContract, sessionRecordFixture } from '@tessera/session/testing';
import { DataSource } from 'typeorm';
import { sessionEntities, sessionMigrations, SessionTypeOrmModule, TypeOrmSessionStore } from '../../index';
import type { TypeOrmSessionStoreOptions } from './typeorm-session.store';

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
  options: TypeOrmSessionStoreOptions & { poolSize?: number } = {},
): Promise<TypeOrmSessionStore> {
  if (!url) throw new Error('The PostgreSQL global setup did not provide a database URL');
  const dataSource = dataSourceFor(url, options.poolSize);
  await dataSource.initialize();
  await dataSource.runMigrations();
  opened.push(dataSource);
  return new TypeOrmSessionStore(dataSource.getRepository(sessionEntities[0]), options);
}

const opened: DataSource[] = [];
afterAll(async () => {
  await Promise.all(opened.map((dataSource) => dataSource.destroy()));
});

describeSessionStoreContract('PostgreSQL server (TypeORM)', {
  setup: () => storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened),
});

// The second server also covers the store without prepared statements (for poolers that cannot carry them).
describeSessionStoreContract('embedded PostgreSQL (TypeORM, preparedStatements: false)', {
  setup: () => storeOn(process.env.TESSERA_EMBEDDED_DATABASE_URL, opened, { preparedStatements: false }),
});

describe('TypeOrmSessionStore schema and wiring', () => {
  it('has migrations that produce exactly the schema the entity describes', async () => {
    const store = await storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened);
    expect(store).toBeInstanceOf(TypeOrmSessionStore);
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
      const store = moduleRef.get(TypeOrmSessionStore);
      const record = sessionRecordFixture();
      await store.create(record);
      expect(await store.findById(record.id)).toEqual(record);
      expect(moduleRef.get(DataSource).isInitialized).toBe(true);
    } finally {
      await moduleRef.close();
    }
  });
});
