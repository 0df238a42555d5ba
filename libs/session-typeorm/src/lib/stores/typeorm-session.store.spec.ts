import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { describeSessionStoreContract, sessionRecordFixture } from '@tessera/session/testing';
import { DataSource } from 'typeorm';
import { sessionEntities, sessionMigrations, SessionTypeOrmModule, TypeOrmSessionStore } from '../../index';

function dataSourceFor(url: string): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    entities: sessionEntities,
    migrations: sessionMigrations,
    migrationsTransactionMode: 'all',
  });
}

async function storeOn(url: string | undefined, opened: DataSource[]): Promise<TypeOrmSessionStore> {
  if (!url) throw new Error('The PostgreSQL global setup did not provide a database URL');
  const dataSource = dataSourceFor(url);
  await dataSource.initialize();
  await dataSource.runMigrations();
  opened.push(dataSource);
  return new TypeOrmSessionStore(dataSource.getRepository(sessionEntities[0]));
}

const opened: DataSource[] = [];
afterAll(async () => {
  await Promise.all(opened.map((dataSource) => dataSource.destroy()));
});

describeSessionStoreContract('PostgreSQL server (TypeORM)', {
  setup: () => storeOn(process.env.TESSERA_TEST_DATABASE_URL, opened),
});

describeSessionStoreContract('embedded PostgreSQL (TypeORM)', {
  setup: () => storeOn(process.env.TESSERA_EMBEDDED_DATABASE_URL, opened),
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
