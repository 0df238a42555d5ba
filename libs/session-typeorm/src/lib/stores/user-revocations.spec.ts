import { sessionRecordFixture } from '@tessera/session/testing';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresSessionStore, sessionEntities, sessionMigrations } from '../../index';

const url = () => {
  const value = process.env.TESSERA_TEST_DATABASE_URL;
  if (!value) throw new Error('The PostgreSQL global setup did not provide a database URL');
  return value;
};

/** Advisory lock the test holds to stop a reissue halfway through its statement. */
const GATE = [1_234_567, 6];
const GATE_MARK = 'finding-6-gate';
/** Names this test's pool connections, to tell them from those of specs running beside it. */
const APPLICATION_NAME = 'tessera-finding-6';

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('PostgresSessionStore: reissue against revokeByUser on PostgreSQL', () => {
  let dataSource: DataSource;
  let store: PostgresSessionStore;
  let admin: Client;

  beforeAll(async () => {
    dataSource = new DataSource({
      type: 'postgres',
      url: url(),
      applicationName: APPLICATION_NAME,
      entities: sessionEntities,
      migrations: sessionMigrations,
    });
    await dataSource.initialize();
    await dataSource.runMigrations();
    store = new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]));
    admin = new Client({ connectionString: url() });
    await admin.connect();
    // Inserting a successor marked GATE_MARK waits for the gate: the reissue that
    // inserts it holds everything it has locked so far until the test opens the gate.
    await admin.query(`
      CREATE OR REPLACE FUNCTION tessera_test_gate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(${GATE[0]}, ${GATE[1]});
        RETURN NEW;
      END $$`);
    await admin.query(`
      CREATE TRIGGER tessera_test_gate BEFORE INSERT ON tessera_sessions
        FOR EACH ROW WHEN (NEW.user_agent = '${GATE_MARK}') EXECUTE FUNCTION tessera_test_gate()`);
  });

  afterAll(async () => {
    await admin.query('DROP TRIGGER IF EXISTS tessera_test_gate ON tessera_sessions');
    await admin.query('DROP FUNCTION IF EXISTS tessera_test_gate()');
    await admin.end();
    await dataSource.destroy();
  });

  /** This test's store connections waiting on a lock. */
  const waiting = async (): Promise<number> =>
    (
      await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'`,
        [APPLICATION_NAME],
      )
    ).rows[0].n as number;

  it('finding 6: a revokeByUser that starts while a reissue is in flight also revokes the successor', async () => {
    const old = sessionRecordFixture();
    const successor = sessionRecordFixture({ userId: old.userId, userAgent: GATE_MARK });
    await store.create(old);
    const at = new Date(old.createdAt.getTime() + 60_000);

    await admin.query('SELECT pg_advisory_lock($1, $2)', GATE);
    let gateOpen = false;
    try {
      // The reissue has revoked the old row (and holds it) and waits to insert the successor.
      const reissue = store.reissue(old.id, successor, 'reissued', at);
      await waitFor(async () => (await waiting()) === 1, 'the reissue to stop at the gate');
      // A revocation of all of the user's sessions starts now, and waits too: on the old
      // row, or (fixed) on the user's lock.
      const revokeAll = store.revokeByUser(old.userId, 'logout_all', at);
      await waitFor(async () => (await waiting()) === 2, 'the revokeByUser to wait on the reissue');
      await admin.query('SELECT pg_advisory_unlock($1, $2)', GATE);
      gateOpen = true;

      expect(await reissue).toBe(true);
      expect(await revokeAll).toEqual([successor.id]);
      expect(await store.listByUser(old.userId, at)).toEqual([]);
      expect(await store.findById(successor.id)).toMatchObject({ revokedAt: at, revokedReason: 'logout_all' });
      expect((await store.findById(old.id))?.revokedReason).toBe('reissued');
    } finally {
      if (!gateOpen) await admin.query('SELECT pg_advisory_unlock($1, $2)', GATE);
    }
  });
});

describe('PostgresSessionStore: reissue against updateUserSessions on PostgreSQL', () => {
  let dataSource: DataSource;
  let store: PostgresSessionStore;
  let admin: Client;
  const application = 'tessera-grants-gate';
  const gate = [1_234_567, 21];
  const mark = 'grants-gate';

  beforeAll(async () => {
    dataSource = new DataSource({
      type: 'postgres',
      url: url(),
      applicationName: application,
      entities: sessionEntities,
      migrations: sessionMigrations,
    });
    await dataSource.initialize();
    await dataSource.runMigrations();
    store = new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]));
    admin = new Client({ connectionString: url() });
    await admin.connect();
    // As above: inserting a successor marked `mark` waits for the gate, the reissue holding
    // the user's lock and the revoked old row meanwhile.
    await admin.query(`
      CREATE OR REPLACE FUNCTION tessera_test_grants_gate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(${gate[0]}, ${gate[1]});
        RETURN NEW;
      END $$`);
    await admin.query(`
      CREATE TRIGGER tessera_test_grants_gate BEFORE INSERT ON tessera_sessions
        FOR EACH ROW WHEN (NEW.user_agent = '${mark}') EXECUTE FUNCTION tessera_test_grants_gate()`);
  });

  afterAll(async () => {
    await admin.query('DROP TRIGGER IF EXISTS tessera_test_grants_gate ON tessera_sessions');
    await admin.query('DROP FUNCTION IF EXISTS tessera_test_grants_gate()');
    await admin.end();
    await dataSource.destroy();
  });

  const waiting = async (): Promise<number> =>
    (
      await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'`,
        [application],
      )
    ).rows[0].n as number;

  it('an updateUserSessions that starts while a reissue is in flight also updates the successor', async () => {
    // What a single UPDATE taking the lock inside itself would miss: its snapshot predates
    // the successor the reissue commits while the update waits for the lock.
    const old = sessionRecordFixture({ roles: ['admin'], claims: { plan: 'pro' } });
    const successor = sessionRecordFixture({ userId: old.userId, roles: ['admin'], claims: { plan: 'pro' }, userAgent: mark });
    await store.create(old);
    const at = new Date(old.createdAt.getTime() + 60_000);
    const demoted = { roles: ['user'], claims: { plan: 'free' } };

    await admin.query('SELECT pg_advisory_lock($1, $2)', gate);
    let gateOpen = false;
    try {
      const reissue = store.reissue(old.id, successor, 'reissued', at);
      await waitFor(async () => (await waiting()) === 1, 'the reissue to stop at the gate');
      const update = store.updateUserSessions(old.userId, demoted, at);
      await waitFor(async () => (await waiting()) === 2, 'the update to wait on the reissue');
      await admin.query('SELECT pg_advisory_unlock($1, $2)', gate);
      gateOpen = true;

      expect(await reissue).toBe(true);
      expect(await update).toBe(1);
      expect(await store.findById(successor.id)).toEqual({ ...successor, ...demoted });
      expect(await store.findById(old.id)).toMatchObject({ roles: ['admin'], claims: { plan: 'pro' }, revokedReason: 'reissued' });
    } finally {
      if (!gateOpen) await admin.query('SELECT pg_advisory_unlock($1, $2)', gate);
    }
  });
});
