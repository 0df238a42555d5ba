import { sessionRecordFixture } from '@tessera/session/testing';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { PostgresSessionStore, sessionEntities, sessionMigrations } from '../../index';

const url = () => {
  const value = process.env.TESSERA_TEST_DATABASE_URL;
  if (!value) throw new Error('The PostgreSQL global setup did not provide a database URL');
  return value;
};


async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A store whose reissues stop halfway (successor not inserted yet) until the test opens a gate. */
interface GatedStore {
  store: PostgresSessionStore;
  /** This describe's store connections waiting on a lock. */
  waiting(): Promise<number>;
  /** Runs `body` with the gate shut; `open()` lets the stopped reissue go on. */
  withGateShut(body: (open: () => Promise<void>) => Promise<void>): Promise<void>;
}

/**
 * Sets up, for the enclosing describe, a store on its own pool (`application` names its
 * connections, to tell them from those of specs running beside it) and a trigger that
 * makes the insert of a successor whose user agent is `mark` wait on advisory lock
 * `gate`: the reissue inserting it holds everything it has locked so far meanwhile.
 */
function gatedStore(application: string, gate: [number, number], mark: string): GatedStore {
  let dataSource: DataSource;
  let admin: Client;
  const gated = {} as GatedStore;
  const trigger = `tessera_test_gate_${gate[1]}`;

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
    gated.store = new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]));
    admin = new Client({ connectionString: url() });
    await admin.connect();
    await admin.query(`
      CREATE OR REPLACE FUNCTION ${trigger}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock_shared(${gate[0]}, ${gate[1]});
        RETURN NEW;
      END $$`);
    await admin.query(`
      CREATE TRIGGER ${trigger} BEFORE INSERT ON tessera_sessions
        FOR EACH ROW WHEN (NEW.user_agent = '${mark}') EXECUTE FUNCTION ${trigger}()`);
  });

  afterAll(async () => {
    await admin.query(`DROP TRIGGER IF EXISTS ${trigger} ON tessera_sessions`);
    await admin.query(`DROP FUNCTION IF EXISTS ${trigger}()`);
    await admin.end();
    await dataSource.destroy();
  });

  gated.waiting = async () =>
    (
      await admin.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = $1 AND wait_event_type = 'Lock'`,
        [application],
      )
    ).rows[0].n as number;

  gated.withGateShut = async (body) => {
    await admin.query('SELECT pg_advisory_lock($1, $2)', gate);
    let shut = true;
    const open = async () => {
      await admin.query('SELECT pg_advisory_unlock($1, $2)', gate);
      shut = false;
    };
    try {
      await body(open);
    } finally {
      if (shut) await admin.query('SELECT pg_advisory_unlock($1, $2)', gate);
    }
  };
  return gated;
}

describe('PostgresSessionStore: reissue against revokeByUser on PostgreSQL', () => {
  const GATE_MARK = 'finding-6-gate';
  const gated = gatedStore('tessera-finding-6', [1_234_567, 6], GATE_MARK);

  it('finding 6: a revokeByUser that starts while a reissue is in flight also revokes the successor', async () => {
    const { store } = gated;
    const old = sessionRecordFixture();
    const successor = sessionRecordFixture({ userId: old.userId, userAgent: GATE_MARK });
    await store.create(old);
    const at = new Date(old.createdAt.getTime() + 60_000);

    await gated.withGateShut(async (open) => {
      // The reissue has revoked the old row (and holds it) and waits to insert the successor.
      const reissue = store.reissue(old.id, successor, 'reissued', at);
      await waitFor(async () => (await gated.waiting()) === 1, 'the reissue to stop at the gate');
      // A revocation of all of the user's sessions starts now, and waits too: on the old
      // row, or (fixed) on the user's lock.
      const revokeAll = store.revokeByUser(old.userId, 'logout_all', at);
      await waitFor(async () => (await gated.waiting()) === 2, 'the revokeByUser to wait on the reissue');
      await open();

      expect(await reissue).toBe(true);
      expect(await revokeAll).toEqual([successor.id]);
      expect(await store.listByUser(old.userId, at)).toEqual([]);
      expect(await store.findById(successor.id)).toMatchObject({ revokedAt: at, revokedReason: 'logout_all' });
      expect((await store.findById(old.id))?.revokedReason).toBe('reissued');
    });
  });
});

describe('PostgresSessionStore: reissue against updateUserSessions on PostgreSQL', () => {
  const mark = 'grants-gate';
  const gated = gatedStore('tessera-grants-gate', [1_234_567, 21], mark);

  it('an updateUserSessions that starts while a reissue is in flight also updates the successor', async () => {
    const { store } = gated;
    // What a single UPDATE taking the lock inside itself would miss: its snapshot predates
    // the successor the reissue commits while the update waits for the lock.
    const old = sessionRecordFixture({ roles: ['admin'], claims: { plan: 'pro' } });
    const successor = sessionRecordFixture({ userId: old.userId, roles: ['admin'], claims: { plan: 'pro' }, userAgent: mark });
    await store.create(old);
    const at = new Date(old.createdAt.getTime() + 60_000);
    const demoted = { roles: ['user'], claims: { plan: 'free' } };

    await gated.withGateShut(async (open) => {
      const reissue = store.reissue(old.id, successor, 'reissued', at);
      await waitFor(async () => (await gated.waiting()) === 1, 'the reissue to stop at the gate');
      const update = store.updateUserSessions(old.userId, demoted, at);
      await waitFor(async () => (await gated.waiting()) === 2, 'the update to wait on the reissue');
      await open();

      expect(await reissue).toBe(true);
      expect(await update).toBe(1);
      expect(await store.findById(successor.id)).toEqual({ ...successor, ...demoted });
      expect(await store.findById(old.id)).toMatchObject({ roles: ['admin'], claims: { plan: 'pro' }, revokedReason: 'reissued' });
    });
  });
});
