import type { RevocationFeedListener, RevocationFeedSubscription } from '@tessera/session';
import { sessionRecordFixture } from '@tessera/session/testing';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createOwnDatabase } from '../../../test/support/own-database';
import type { OwnDatabase } from '../../../test/support/own-database';
import { PostgresSessionStore, REVOCATION_TIME_CHANNEL, sessionEntities, sessionMigrations } from '../../index';

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

class TimedListener implements RevocationFeedListener {
  readonly revokedIds: string[] = [];
  readonly commits: Array<{ id: string; at: Date }> = [];
  revoked(ids: string[]): void {
    this.revokedIds.push(...ids);
  }
  committed(id: string, at: Date): void {
    this.commits.push({ id, at });
  }
  resync(): void {
    // Not under test here.
  }
  userChanged(): void {
    // Not under test here.
  }
}

// A database of its own: the live-session count covers the whole table.
describe('PostgreSQL store: what telemetry reads', () => {
  let database: OwnDatabase;
  let dataSource: DataSource;
  let store: PostgresSessionStore;
  const feeds: RevocationFeedSubscription[] = [];

  beforeAll(async () => {
    database = await createOwnDatabase('tessera_telemetry');
    dataSource = new DataSource({ type: 'postgres', url: database.url, entities: sessionEntities, migrations: sessionMigrations });
    await dataSource.initialize();
    await dataSource.runMigrations();
    store = new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]));
  });

  afterAll(async () => {
    await Promise.all(feeds.map((feed) => feed.close()));
    await dataSource?.destroy();
    await database?.drop();
  });

  async function watch(listener: RevocationFeedListener): Promise<void> {
    feeds.push(await store.watchRevocations(listener));
  }

  it('counts live sessions only: not revoked, not idle-expired, not past the absolute timeout', async () => {
    const live = sessionRecordFixture();
    const now = new Date(live.createdAt.getTime() + 60_000);
    const revoked = sessionRecordFixture();
    const idle = sessionRecordFixture({ expiresAt: new Date(now.getTime() - 1) });
    const absolute = sessionRecordFixture({ absoluteExpiresAt: now });
    for (const record of [live, revoked, idle, absolute]) await store.create(record);
    await store.revoke(revoked.id, 'logout', now);

    expect(await store.countLiveSessions(now)).toBe(1);
    expect(await store.countLiveSessions(new Date(live.expiresAt.getTime()))).toBe(0);
  });

  it("announces each revocation's write time on its own channel, for a listener that asks", async () => {
    const listener = new TimedListener();
    await watch(listener);
    const session = sessionRecordFixture();
    await store.create(session);
    const before = Date.now();
    await store.revoke(session.id, 'logout', new Date());
    const after = Date.now();

    await waitFor(() => listener.commits.length === 1 && listener.revokedIds.includes(session.id), 'both notifications');
    expect(listener.commits[0].id).toBe(session.id);
    // PostgreSQL's clock on this machine: between the call and its answer, give or take a second.
    expect(listener.commits[0].at.getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(listener.commits[0].at.getTime()).toBeLessThanOrEqual(after + 1_000);
  });

  it('gives every session of a bulk revocation its time, and ignores malformed time payloads', async () => {
    const listener = new TimedListener();
    await watch(listener);
    const userId = `user-${randomBytes(4).toString('hex')}`;
    const sessions = [sessionRecordFixture({ userId }), sessionRecordFixture({ userId })];
    for (const record of sessions) await store.create(record);
    await database.client.query('SELECT pg_notify($1, $2)', [REVOCATION_TIME_CHANNEL, 'no-time-here']);
    await database.client.query('SELECT pg_notify($1, $2)', [REVOCATION_TIME_CHANNEL, 'a b c']);
    await store.revokeByUser(userId, 'logout_all', new Date());

    await waitFor(() => listener.commits.length === 2, 'two timed revocations');
    expect(listener.commits.map((commit) => commit.id).sort()).toEqual(sessions.map((record) => record.id).sort());
  });

  it('migrates down to the bare-id trigger and up again', async () => {
    const listener = new TimedListener();
    await dataSource.undoLastMigration();
    try {
      await watch(listener);
      const session = sessionRecordFixture();
      await store.create(session);
      await store.revoke(session.id, 'logout', new Date());
      await waitFor(() => listener.revokedIds.includes(session.id), 'the bare revocation');
    } finally {
      await dataSource.runMigrations();
    }
    expect(listener.commits).toEqual([]);
    const again = sessionRecordFixture();
    await store.create(again);
    await store.revoke(again.id, 'logout', new Date());
    await waitFor(() => listener.commits.some((commit) => commit.id === again.id), 'the timed revocation after up');
  });
});
