/// <reference types="jest" />
import type { RevocationFeedListener, SessionStore } from '../lib/interfaces/session-store.interface';
import { hoursAfter as at, randomTestId as id, sessionRecordFixture } from './session-record.factory';

/**
 * What keeps instances and the table in step: the revocation feed, `deleteExpired`, the
 * cleanup lock and `revokeByUser`. Called by `describeSessionStoreContract` inside its
 * describe block.
 */
export function maintenanceContract(storeUnderTest: () => SessionStore): void {
  it('feeds revocations to a watcher, resyncs it on connect, and stops when closed', async () => {
    const store = storeUnderTest();
    const received: string[] = [];
    let resyncs = 0;
    const listener: RevocationFeedListener = {
      revoked: (ids) => received.push(...ids),
      userChanged: () => undefined,
      resync: () => {
        resyncs += 1;
      },
    };
    const waitFor = async (condition: () => boolean, what: string) => {
      const deadline = Date.now() + 5_000;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const subscription = await store.watchRevocations(listener);
    try {
      await waitFor(() => resyncs >= 1, 'the first resync');
      const userId = `user-${id()}`;
      const one = sessionRecordFixture();
      const many = [sessionRecordFixture({ userId }), sessionRecordFixture({ userId })];
      for (const record of [one, ...many]) await store.create(record);
      await store.revoke(one.id, 'logout', at(one, 1));
      await store.revokeByUser(userId, 'logout_all', at(one, 1));
      const expected = [one.id, ...many.map((record) => record.id)];
      await waitFor(() => expected.every((sessionId) => received.includes(sessionId)), 'the revocations');
    } finally {
      await subscription.close();
    }
    const late = sessionRecordFixture();
    await store.create(late);
    await store.revoke(late.id, 'logout', at(late, 1));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).not.toContain(late.id);
  });

  it('deletes only sessions expired or revoked before the cutoff, at most `limit` per call', async () => {
    const store = storeUnderTest();
    const old = (iso: string) => new Date(iso);
    /** A session created on 2001-01-01 that expires (idle, then absolute) at these times. */
    const expiring = (expiresAt: string, absoluteExpiresAt: string) =>
      sessionRecordFixture({
        createdAt: old('2001-01-01T00:00:00Z'),
        lastSeenAt: old('2001-01-01T00:00:00Z'),
        expiresAt: old(expiresAt),
        absoluteExpiresAt: old(absoluteExpiresAt),
      });
    const expiredLongAgo = expiring('2001-01-02T00:00:00Z', '2001-01-03T00:00:00Z');
    const expiredRecently = expiring('2001-06-02T00:00:00Z', '2001-06-03T00:00:00Z');
    const revokedLongAgo = expiring('2001-12-01T00:00:00Z', '2001-12-02T00:00:00Z');
    const live = expiring('2001-12-01T00:00:00Z', '2001-12-02T00:00:00Z');
    for (const record of [expiredLongAgo, expiredRecently, revokedLongAgo, live]) await store.create(record);
    await store.revoke(revokedLongAgo.id, 'logout', old('2001-01-05T00:00:00Z'));
    const cutoff = old('2001-03-01T00:00:00Z');
    expect(await store.deleteExpired(cutoff, 1)).toBe(1);
    expect(await store.deleteExpired(cutoff, 100)).toBe(1);
    expect(await store.deleteExpired(cutoff, 100)).toBe(0);
    expect(await store.findById(expiredLongAgo.id)).toBeNull();
    expect(await store.findById(revokedLongAgo.id)).toBeNull();
    expect(await store.findById(expiredRecently.id)).not.toBeNull();
    expect(await store.findById(live.id)).not.toBeNull();
  });

  it('counts a session both expired and revoked before the cutoff once, and fills each batch from both kinds', async () => {
    const store = storeUnderTest();
    const old = (iso: string) => new Date(iso);
    const base = { createdAt: old('2001-01-01T00:00:00Z'), lastSeenAt: old('2001-01-01T00:00:00Z') };
    const expired = (day: number) =>
      sessionRecordFixture({
        ...base,
        expiresAt: old(`2001-01-${String(10 + day).padStart(2, '0')}T00:00:00Z`),
        absoluteExpiresAt: old('2001-12-31T00:00:00Z'),
      });
    const stillValid = () =>
      sessionRecordFixture({ ...base, expiresAt: old('2001-12-01T00:00:00Z'), absoluteExpiresAt: old('2001-12-31T00:00:00Z') });
    const both = expired(1);
    const onlyExpired = [expired(2), expired(3)];
    const onlyRevoked = [stillValid(), stillValid()];
    const kept = stillValid();
    for (const record of [both, ...onlyExpired, ...onlyRevoked, kept]) await store.create(record);
    for (const record of [both, ...onlyRevoked]) await store.revoke(record.id, 'logout', old('2001-01-20T00:00:00Z'));
    const cutoff = old('2001-03-01T00:00:00Z');
    const counts = [];
    for (let i = 0; i < 4; i++) counts.push(await store.deleteExpired(cutoff, 2));
    expect(counts).toEqual([2, 2, 1, 0]);
    for (const record of [both, ...onlyExpired, ...onlyRevoked]) expect(await store.findById(record.id)).toBeNull();
    expect(await store.findById(kept.id)).not.toBeNull();
  });

  it('hands the cleanup lock to one holder at a time', async () => {
    const store = storeUnderTest();
    const first = await store.acquireCleanupLock();
    expect(first).not.toBeNull();
    try {
      expect(await store.acquireCleanupLock()).toBeNull();
    } finally {
      await first?.release();
    }
    const again = await store.acquireCleanupLock();
    expect(again).not.toBeNull();
    await again?.release();
  });

  it("revokes all of a user's sessions but the one kept", async () => {
    const store = storeUnderTest();
    const userId = `user-${id()}`;
    const keep = sessionRecordFixture({ userId });
    const others = [sessionRecordFixture({ userId }), sessionRecordFixture({ userId })];
    const stranger = sessionRecordFixture();
    for (const record of [keep, ...others, stranger]) await store.create(record);
    const revoked = await store.revokeByUser(userId, 'logout_all', at(keep, 1), keep.id);
    expect([...revoked].sort()).toEqual(others.map((record) => record.id).sort());
    expect((await store.listByUser(userId, at(keep, 2))).map((record) => record.id)).toEqual([keep.id]);
    expect((await store.findById(stranger.id))?.revokedAt).toBeNull();
    expect((await store.findById(others[0].id))?.revokedReason).toBe('logout_all');
    expect(await store.revokeByUser(userId, 'logout_all', at(keep, 3))).toEqual([keep.id]);
  });
}
