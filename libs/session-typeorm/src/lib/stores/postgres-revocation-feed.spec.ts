import { sessionRecordFixture } from '@tessera/session/testing';
import type { RevocationFeedListener } from '@tessera/session';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresSessionStore, sessionEntities, sessionMigrations, USER_CHANGED_CHANNEL } from '../../index';

const url = () => {
  const value = process.env.TESSERA_TEST_DATABASE_URL;
  if (!value) throw new Error('The PostgreSQL global setup did not provide a database URL');
  return value;
};

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

class RecordingListener implements RevocationFeedListener {
  readonly received: string[] = [];
  readonly users: string[] = [];
  resyncs = 0;
  revoked(ids: string[]): void {
    this.received.push(...ids);
  }
  userChanged(userIds: string[]): void {
    this.users.push(...userIds);
  }
  resync(): void {
    this.resyncs += 1;
  }
}

describe('PostgreSQL revocation feed (LISTEN/NOTIFY)', () => {
  let dataSource: DataSource;
  let store: PostgresSessionStore;
  let admin: Client;

  beforeAll(async () => {
    dataSource = new DataSource({ type: 'postgres', url: url(), entities: sessionEntities, migrations: sessionMigrations });
    await dataSource.initialize();
    await dataSource.runMigrations();
    store = new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]), {
      feed: { reconnectMinDelayMs: 200, heartbeatMs: 60_000 },
    });
    admin = new Client({ connectionString: url() });
    await admin.connect();
  });

  afterAll(async () => {
    await admin.end();
    await dataSource.destroy();
  });

  const listenerPids = async (): Promise<number[]> =>
    (
      await admin.query(
        `SELECT pid FROM pg_stat_activity WHERE application_name = 'tessera-revocation-feed' AND datname = current_database()`,
      )
    ).rows.map((row: { pid: number }) => row.pid);

  it('delivers revocations made by another store instance and by plain SQL (the trigger)', async () => {
    const otherSource = new DataSource({ type: 'postgres', url: url(), entities: sessionEntities });
    await otherSource.initialize();
    const other = new PostgresSessionStore(otherSource.getRepository(sessionEntities[0]));
    const listener = new RecordingListener();
    const feed = await store.watchRevocations(listener);
    try {
      expect(listener.resyncs).toBe(1);
      const viaStore = sessionRecordFixture();
      const viaSql = sessionRecordFixture();
      await other.create(viaStore);
      await other.create(viaSql);
      await other.revoke(viaStore.id, 'logout', new Date());
      await admin.query(`UPDATE tessera_sessions SET revoked_at = now(), revoked_reason = 'admin' WHERE id = $1`, [viaSql.id]);
      await waitFor(() => listener.received.includes(viaStore.id) && listener.received.includes(viaSql.id), 'notifications');
      // Updating an already revoked row announces nothing new.
      await admin.query(`UPDATE tessera_sessions SET revoked_at = now() WHERE id = $1`, [viaSql.id]);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(listener.received.filter((id) => id === viaSql.id)).toHaveLength(1);
    } finally {
      await feed.close();
      await otherSource.destroy();
    }
  });

  it('delivers user changes to userChanged and revocations to revoked, also those sent by plain SQL', async () => {
    const listener = new RecordingListener();
    const feed = await store.watchRevocations(listener);
    try {
      const session = sessionRecordFixture();
      await store.create(session);
      await store.updateUserSessions(session.userId, { roles: ['admin'], claims: { plan: 'pro' } }, new Date());
      await admin.query(`SELECT pg_notify($1, $2)`, [USER_CHANGED_CHANNEL, 'user-from-sql']);
      await store.revoke(session.id, 'user_disabled', new Date());
      await waitFor(
        () => listener.users.includes('user-from-sql') && listener.received.includes(session.id),
        'the user changes and the revocation',
      );
      expect(listener.users).toEqual([session.userId, 'user-from-sql']);
      expect(listener.received).toEqual([session.id]);
    } finally {
      await feed.close();
    }
  });

  it('refuses a user id too long for a NOTIFY payload, changing nothing, and the feed goes on', async () => {
    const listener = new RecordingListener();
    const feed = await store.watchRevocations(listener);
    try {
      // 2,700 three-byte characters: 8,100 bytes, over PostgreSQL's 7,999.
      const longId = '東'.repeat(2_700);
      const session = sessionRecordFixture({ userId: longId });
      await store.create(session);
      await expect(store.updateUserSessions(longId, { roles: ['admin'], claims: {} }, new Date())).rejects.toThrow(
        /longer than 7999 bytes/,
      );
      expect((await store.findById(session.id))?.roles).toEqual(session.roles);
      // The longest id accepted goes through.
      const longest = 'u'.repeat(7_999);
      await store.updateUserSessions(longest, { roles: [], claims: {} }, new Date());
      await waitFor(() => listener.users.includes(longest), 'the longest user id');
    } finally {
      await feed.close();
    }
  });

  it('reconnects by itself after pg_terminate_backend and resyncs after a notification it could not receive', async () => {
    const listener = new RecordingListener();
    const feed = await store.watchRevocations(listener);
    try {
      const [pid] = await listenerPids();
      expect(pid).toEqual(expect.any(Number));
      const missed = sessionRecordFixture();
      await store.create(missed);

      // Kill the listening connection and revoke in the same transaction: the
      // notification is sent at COMMIT, when the old connection is already gone.
      await admin.query('BEGIN');
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.query(`UPDATE tessera_sessions SET revoked_at = now(), revoked_reason = 'admin' WHERE id = $1`, [missed.id]);
      await admin.query('COMMIT');
      const committedAt = (await admin.query('SELECT clock_timestamp() AS now')).rows[0].now as Date;

      await waitFor(() => listener.resyncs >= 2, 'the feed to reconnect and ask for a resync');
      const pids = await listenerPids();
      expect(pids).not.toContain(pid);
      expect(pids).toHaveLength(1);
      // The new connection started after the commit, so NOTIFY could not have reached it.
      const started = (await admin.query('SELECT backend_start FROM pg_stat_activity WHERE pid = $1', [pids[0]])).rows[0]
        .backend_start as Date;
      expect(started.getTime()).toBeGreaterThanOrEqual(committedAt.getTime() - 50);
      expect(listener.received).not.toContain(missed.id);
      // What a resync reads brings it in.
      const recent = await store.listRevokedSince(new Date(Date.now() - 60_000));
      expect(recent.map((entry) => entry.sessionId)).toContain(missed.id);

      // And the feed works again.
      const after = sessionRecordFixture();
      await store.create(after);
      await store.revoke(after.id, 'logout', new Date());
      await waitFor(() => listener.received.includes(after.id), 'a notification after the reconnect');
      // Both channels are listened to again.
      await store.updateUserSessions(after.userId, { roles: ['user'], claims: {} }, new Date());
      await waitFor(() => listener.users.includes(after.userId), 'a user change after the reconnect');
    } finally {
      await feed.close();
    }
    await waitFor(async () => (await listenerPids()).length === 0, 'the feed connection to close');
  });

  it('keeps retrying while the server refuses connections, then recovers', async () => {
    const listener = new RecordingListener();
    const feed = await store.watchRevocations(listener);
    const database = (await admin.query('SELECT current_database() AS name')).rows[0].name as string;
    // ALTER DATABASE … ALLOW_CONNECTIONS cannot target the database one is connected to.
    const serverUrl = new URL(url());
    serverUrl.pathname = '/postgres';
    const server = new Client({ connectionString: serverUrl.toString() });
    await server.connect();
    try {
      await server.query(`ALTER DATABASE ${server.escapeIdentifier(database)} ALLOW_CONNECTIONS false`);
      const [pid] = await listenerPids();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await listenerPids()).toEqual([]);
      expect(listener.resyncs).toBe(1);
      await server.query(`ALTER DATABASE ${server.escapeIdentifier(database)} ALLOW_CONNECTIONS true`);
      await waitFor(() => listener.resyncs >= 2, 'recovery', 15_000);
      expect(await listenerPids()).toHaveLength(1);
    } finally {
      await server.query(`ALTER DATABASE ${server.escapeIdentifier(database)} ALLOW_CONNECTIONS true`);
      await server.end();
      await feed.close();
    }
  });
});
