import type { RevocationFeedListener, RevocationFeedSubscription } from '@tessera/session';
import { sessionRecordFixture } from '@tessera/session/testing';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { DataSourceOptions } from 'typeorm';
import { PostgresSessionStore, sessionEntities, sessionMigrations } from '../../index';
import { dataSourcePool } from './data-source-pool';
import { feedConnectionConfig } from './feed-connection';

const serverUrl = (database: string) => {
  const value = process.env.TESSERA_TEST_DATABASE_URL;
  if (!value) throw new Error('The PostgreSQL global setup did not provide a database URL');
  const url = new URL(value);
  url.pathname = `/${database}`;
  return url.toString();
};

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// A database of its own: every revocation-feed connection in it is this file's.
describe('PostgreSQL revocation feed: connects like the data source pool', () => {
  const database = `tessera_feed_${randomBytes(4).toString('hex')}`;
  const url = serverUrl(database);
  const opened: DataSource[] = [];
  let server: Client;
  let db: Client;

  beforeAll(async () => {
    server = new Client({ connectionString: serverUrl('postgres') });
    await server.connect();
    await server.query(`CREATE DATABASE ${server.escapeIdentifier(database)}`);
    const setup = new DataSource({ type: 'postgres', url, entities: sessionEntities, migrations: sessionMigrations });
    await setup.initialize();
    await setup.runMigrations();
    await setup.destroy();
    db = new Client({ connectionString: url });
    await db.connect();
  });

  afterAll(async () => {
    await Promise.all(opened.map((dataSource) => dataSource.destroy()));
    await db?.end();
    await server.query(`DROP DATABASE IF EXISTS ${server.escapeIdentifier(database)} WITH (FORCE)`);
    await server.end();
  });

  async function storeOn(options: Partial<DataSourceOptions>): Promise<PostgresSessionStore> {
    const dataSource = new DataSource({ type: 'postgres', entities: sessionEntities, ...options } as DataSourceOptions);
    await dataSource.initialize();
    opened.push(dataSource);
    return new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]));
  }

  /** Backends of this database by application name, with their pg_stat_activity state. */
  const backends = async (applicationName: string): Promise<string[]> =>
    (
      await db.query('SELECT state FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1', [
        applicationName,
      ])
    ).rows.map((row: { state: string }) => row.state);

  /** Opens a feed on `store`, checks that a revocation made through it arrives, and returns the feed. */
  async function workingFeed(store: PostgresSessionStore): Promise<RevocationFeedSubscription> {
    const received: string[] = [];
    const listener: RevocationFeedListener = {
      revoked: (ids) => received.push(...ids),
      userChanged: () => undefined,
      resync: () => undefined,
    };
    const feed = await store.watchRevocations(listener);
    const session = sessionRecordFixture();
    await store.create(session);
    await store.revoke(session.id, 'logout', new Date());
    await waitFor(() => received.includes(session.id), 'the revocation to reach the feed');
    return feed;
  }

  it('finding 7: the feed connects with what only `extra` carries, as the pool does', async () => {
    // `track_activities=off` shows from outside: pg_stat_activity reports such a backend's
    // state as 'disabled' (where `extra.ssl` would show in pg_stat_ssl on a TLS server).
    const store = await storeOn({
      url,
      applicationName: 'tessera-finding-7-pool',
      extra: { options: '-c track_activities=off' },
    });
    await store.findById('warm-up');
    // The pool honours it (what the feed must match)...
    const pool = await backends('tessera-finding-7-pool');
    expect(pool.length).toBeGreaterThan(0);
    expect(new Set(pool)).toEqual(new Set(['disabled']));
    const feed = await workingFeed(store);
    try {
      // ...and so does the LISTEN connection.
      expect(await backends('tessera-revocation-feed')).toEqual(['disabled']);
    } finally {
      await feed.close();
    }
  });

  it('finding 7: with replication, the feed listens on the primary (`replication.master`)', async () => {
    // Nothing at the top level: the primary is named only under `replication`, the
    // replica here being the same server.
    const store = await storeOn({ replication: { master: { url }, slaves: [{ url }] } });
    const feed = await workingFeed(store);
    try {
      expect(await backends('tessera-revocation-feed')).toHaveLength(1);
    } finally {
      await feed.close();
    }
  });

  it("keeps the pool's password, which pg-pool hides from enumeration", async () => {
    const dataSource = new DataSource({ type: 'postgres', url, password: 'not-checked-under-trust', entities: sessionEntities });
    expect(() => feedConnectionConfig(dataSourcePool(dataSource))).toThrow('needs an initialized PostgreSQL data source');
    await dataSource.initialize();
    opened.push(dataSource);
    const config = feedConnectionConfig(dataSourcePool(dataSource));
    expect(config.password).toBe('not-checked-under-trust');
    expect(Object.keys(config)).not.toContain('password');
    expect(config).toMatchObject({ connectionString: url, connectionTimeoutMillis: 10_000 });
  });
});
