/// <reference types="jest" />
import type {
  RevocationFeedListener,
  SessionRecord,
  SessionStore,
} from '../lib/interfaces/session-store.interface';
import { HOUR, randomTestId as id, sessionRecordFixture } from './session-record.fixture';
import { describeReissueContract } from './session-store-reissue.contract';

export { sessionRecordFixture } from './session-record.fixture';

/** How the contract suite gets a store to test. */
export interface SessionStoreContractHooks {
  /** Returns the store under test; called in `beforeAll`. */
  setup(): Promise<SessionStore> | SessionStore;
  /** Releases what `setup` opened; called in `afterAll`. */
  teardown?(): Promise<void> | void;
}

/**
 * The behaviour every `SessionStore` must have. Run it against each real backend:
 * `describeSessionStoreContract('postgres', { setup: () => storeFromRealDatabase() })`.
 * Tests use fresh random ids, so they need no empty database.
 */
export function describeSessionStoreContract(name: string, hooks: SessionStoreContractHooks): void {
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;

    beforeAll(async () => {
      store = await hooks.setup();
    });

    afterAll(async () => {
      await hooks.teardown?.();
    });

    const at = (record: SessionRecord, hours: number) => new Date(record.createdAt.getTime() + hours * HOUR);

    it('stores a session and finds it by id with every field intact', async () => {
      const record = sessionRecordFixture({ roles: ['user', 'admin'], userAgent: 'Mozilla/5.0 ✓', ip: '::1' });
      await store.create(record);
      expect(await store.findById(record.id)).toEqual(record);
    });

    it('finds many sessions at once, each caller with its own copy', async () => {
      const records = Array.from({ length: 20 }, (_, i) => sessionRecordFixture({ roles: [`role-${i}`] }));
      await Promise.all(records.map((record) => store.create(record)));
      const unknown = id();
      const [found, again, missing] = await Promise.all([
        Promise.all(records.map((record) => store.findById(record.id))),
        Promise.all(records.map((record) => store.findById(record.id))),
        store.findById(unknown),
      ]);
      expect(found).toEqual(records);
      expect(again).toEqual(records);
      expect(missing).toBeNull();
      // Two callers asking for one session at once must not share an object.
      (found[0] as SessionRecord).roles.push('changed by the first caller');
      expect(again[0]?.roles).toEqual(['role-0']);
      expect(found[0]).not.toBe(again[0]);
    });

    it('returns null for an unknown id', async () => {
      expect(await store.findById(id())).toBeNull();
    });

    it('refuses a second session with the same id', async () => {
      const record = sessionRecordFixture();
      await store.create(record);
      await expect(store.create({ ...record, userId: 'someone-else' })).rejects.toThrow();
      expect((await store.findById(record.id))?.userId).toBe(record.userId);
    });

    it('rotates the refresh hash when the expected hash matches', async () => {
      const record = sessionRecordFixture();
      await store.create(record);
      const now = at(record, 1);
      const rotated = await store.rotateRefresh(record.id, {
        expectedRefreshHash: record.refreshHash,
        refreshHash: 'next-hash',
        now,
        expiresAt: at(record, 25),
      });
      expect(rotated).toEqual({
        ...record,
        refreshHash: 'next-hash',
        previousRefreshHash: record.refreshHash,
        generation: 1,
        rotatedAt: now,
        lastSeenAt: now,
        expiresAt: at(record, 25),
      });
      expect(await store.findById(record.id)).toEqual(rotated);
    });

    it('caps the new expiry at the absolute expiry', async () => {
      const record = sessionRecordFixture();
      await store.create(record);
      const rotated = await store.rotateRefresh(record.id, {
        expectedRefreshHash: record.refreshHash,
        refreshHash: 'next',
        now: at(record, 1),
        expiresAt: at(record, 1000),
      });
      expect(rotated?.expiresAt).toEqual(record.absoluteExpiresAt);
    });

    it('changes nothing when the expected hash does not match', async () => {
      const record = sessionRecordFixture();
      await store.create(record);
      const result = await store.rotateRefresh(record.id, {
        expectedRefreshHash: 'stale',
        refreshHash: 'next',
        now: at(record, 1),
        expiresAt: at(record, 25),
      });
      expect(result).toBeNull();
      expect(await store.findById(record.id)).toEqual(record);
    });

    it('does not rotate a revoked, an expired or an unknown session', async () => {
      const revoked = sessionRecordFixture();
      const expired = sessionRecordFixture();
      await store.create(revoked);
      await store.create(expired);
      await store.revoke(revoked.id, 'logout', at(revoked, 1));
      const rotation = (record: SessionRecord, hours: number) => ({
        expectedRefreshHash: record.refreshHash,
        refreshHash: 'next',
        now: at(record, hours),
        expiresAt: at(record, hours + 24),
      });
      expect(await store.rotateRefresh(revoked.id, rotation(revoked, 2))).toBeNull();
      expect(await store.rotateRefresh(expired.id, rotation(expired, 24))).toBeNull();
      expect(await store.rotateRefresh(id(), rotation(expired, 1))).toBeNull();
      expect((await store.findById(expired.id))?.refreshHash).toBe(expired.refreshHash);
    });

    it('lets exactly one of many concurrent rotations of one generation win', async () => {
      const record = sessionRecordFixture();
      await store.create(record);
      let expected = record.refreshHash;
      for (let generation = 1; generation <= 3; generation++) {
        const attempts = Array.from({ length: 25 }, (_, i) =>
          store.rotateRefresh(record.id, {
            expectedRefreshHash: expected,
            refreshHash: `g${generation}-attempt-${i}`,
            now: at(record, generation),
            expiresAt: at(record, generation + 24),
          }),
        );
        const winners = (await Promise.all(attempts)).filter((result) => result !== null);
        expect(winners).toHaveLength(1);
        expect(winners[0]?.generation).toBe(generation);
        const stored = await store.findById(record.id);
        expect(stored?.refreshHash).toBe(winners[0]?.refreshHash);
        expected = (winners[0] as SessionRecord).refreshHash;
      }
    });

    it('rotates many sessions at once, each on its own terms', async () => {
      // Issued together, as concurrent refreshes of many users are: a store may run them
      // as one operation, but each session's outcome must be the one it would get alone.
      const live = Array.from({ length: 30 }, () => sessionRecordFixture());
      const stale = sessionRecordFixture();
      const revoked = sessionRecordFixture();
      const expired = sessionRecordFixture({ expiresAt: new Date('2030-01-01T00:30:00.000Z') });
      const twice = sessionRecordFixture();
      const all = [...live, stale, revoked, expired, twice];
      await Promise.all(all.map((record) => store.create(record)));
      await store.revoke(revoked.id, 'logout', at(revoked, 0.5));
      const rotate = (record: SessionRecord, expected: string, next: string) =>
        store.rotateRefresh(record.id, {
          expectedRefreshHash: expected,
          refreshHash: next,
          now: at(record, 1),
          expiresAt: at(record, 25),
        });

      const results = await Promise.all([
        ...live.map((record, i) => rotate(record, record.refreshHash, `live-${i}`)),
        rotate(stale, 'not-the-current-hash', 'stale-next'),
        rotate(revoked, revoked.refreshHash, 'revoked-next'),
        rotate(expired, expired.refreshHash, 'expired-next'),
        // Two rotations of one session from the same token: exactly one may win.
        rotate(twice, twice.refreshHash, 'twice-a'),
        rotate(twice, twice.refreshHash, 'twice-b'),
      ]);

      const [staleResult, revokedResult, expiredResult, a, b] = results.slice(live.length);
      results.slice(0, live.length).forEach((rotated, i) => {
        expect(rotated).toEqual({
          ...live[i],
          refreshHash: `live-${i}`,
          previousRefreshHash: live[i].refreshHash,
          generation: 1,
          rotatedAt: at(live[i], 1),
          lastSeenAt: at(live[i], 1),
          expiresAt: at(live[i], 25),
        });
      });
      expect([staleResult, revokedResult, expiredResult]).toEqual([null, null, null]);
      const winners = [a, b].filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]).toMatchObject({ previousRefreshHash: twice.refreshHash, generation: 1 });
      const stored = await Promise.all(all.map((record) => store.findById(record.id)));
      expect(stored.slice(0, live.length).map((record) => record?.refreshHash)).toEqual(live.map((_, i) => `live-${i}`));
      expect(stored.slice(live.length).map((record) => record?.refreshHash)).toEqual([
        stale.refreshHash,
        revoked.refreshHash,
        expired.refreshHash,
        winners[0]?.refreshHash,
      ]);
    });

    it('records activity on a live session, never moving times backwards, capped at the absolute expiry', async () => {
      const record = sessionRecordFixture();
      await store.create(record);
      expect(await store.touch(record.id, at(record, 2), at(record, 30))).toBe(true);
      let stored = await store.findById(record.id);
      expect(stored?.lastSeenAt).toEqual(at(record, 2));
      expect(stored?.expiresAt).toEqual(at(record, 30));
      // An older, late-arriving touch changes nothing.
      expect(await store.touch(record.id, at(record, 1), at(record, 25))).toBe(true);
      stored = await store.findById(record.id);
      expect(stored?.lastSeenAt).toEqual(at(record, 2));
      expect(stored?.expiresAt).toEqual(at(record, 30));
      expect(await store.touch(record.id, at(record, 3), at(record, 1000))).toBe(true);
      expect((await store.findById(record.id))?.expiresAt).toEqual(record.absoluteExpiresAt);
      // Everything else is untouched.
      expect({ ...(await store.findById(record.id)), lastSeenAt: null, expiresAt: null }).toEqual({
        ...record,
        lastSeenAt: null,
        expiresAt: null,
      });
    });

    it('does not touch a revoked, an expired or an unknown session', async () => {
      const revoked = sessionRecordFixture();
      const expired = sessionRecordFixture();
      await store.create(revoked);
      await store.create(expired);
      await store.revoke(revoked.id, 'logout', at(revoked, 1));
      expect(await store.touch(revoked.id, at(revoked, 2), at(revoked, 30))).toBe(false);
      expect(await store.touch(expired.id, at(expired, 24), at(expired, 48))).toBe(false);
      expect(await store.touch(id(), at(expired, 1), at(expired, 2))).toBe(false);
      expect((await store.findById(expired.id))?.expiresAt).toEqual(expired.expiresAt);
      expect((await store.findById(revoked.id))?.lastSeenAt).toEqual(revoked.lastSeenAt);
    });

    it('revokes a session once, recording when and why', async () => {
      const record = sessionRecordFixture();
      await store.create(record);
      expect(await store.revoke(record.id, 'logout', at(record, 2))).toBe(true);
      expect(await store.revoke(record.id, 'admin', at(record, 3))).toBe(false);
      expect(await store.revoke(id(), 'logout', at(record, 3))).toBe(false);
      const stored = await store.findById(record.id);
      expect(stored?.revokedAt).toEqual(at(record, 2));
      expect(stored?.revokedReason).toBe('logout');
    });

    it("lists a user's live sessions, oldest first, and no one else's", async () => {
      const userId = `user-${id()}`;
      const base = sessionRecordFixture({ userId });
      const older = { ...sessionRecordFixture({ userId }), createdAt: new Date(base.createdAt.getTime() - HOUR) };
      const revoked = sessionRecordFixture({ userId });
      const expired = sessionRecordFixture({ userId, expiresAt: at(base, 1) });
      const stranger = sessionRecordFixture();
      for (const record of [base, older, revoked, expired, stranger]) await store.create(record);
      await store.revoke(revoked.id, 'logout', at(base, 0.5));
      const listed = await store.listByUser(userId, at(base, 2));
      expect(listed.map((record) => record.id)).toEqual([older.id, base.id]);
      expect(await store.listByUser(`user-${id()}`, at(base, 2))).toEqual([]);
    });

    it('lists the sessions revoked since a time', async () => {
      const before = sessionRecordFixture();
      const after = sessionRecordFixture();
      const live = sessionRecordFixture();
      for (const record of [before, after, live]) await store.create(record);
      await store.revoke(before.id, 'logout', at(before, 1));
      await store.revoke(after.id, 'logout', at(after, 3));
      const listed = await store.listRevokedSince(at(before, 2));
      const ours = listed.filter((entry) => [before.id, after.id, live.id].includes(entry.sessionId));
      expect(ours).toEqual([{ sessionId: after.id, revokedAt: at(after, 3) }]);
    });

    it('feeds revocations to a watcher, resyncs it on connect, and stops when closed', async () => {
      const received: string[] = [];
      let resyncs = 0;
      const listener: RevocationFeedListener = {
        revoked: (ids) => received.push(...ids),
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
      const old = (iso: string) => new Date(iso);
      const base = { createdAt: old('2001-01-01T00:00:00Z'), lastSeenAt: old('2001-01-01T00:00:00Z') };
      const expiredLongAgo = sessionRecordFixture({
        ...base,
        expiresAt: old('2001-01-02T00:00:00Z'),
        absoluteExpiresAt: old('2001-01-03T00:00:00Z'),
      });
      const expiredRecently = sessionRecordFixture({
        ...base,
        expiresAt: old('2001-06-02T00:00:00Z'),
        absoluteExpiresAt: old('2001-06-03T00:00:00Z'),
      });
      const revokedLongAgo = sessionRecordFixture({
        ...base,
        expiresAt: old('2001-12-01T00:00:00Z'),
        absoluteExpiresAt: old('2001-12-02T00:00:00Z'),
      });
      const live = sessionRecordFixture({
        ...base,
        expiresAt: old('2001-12-01T00:00:00Z'),
        absoluteExpiresAt: old('2001-12-02T00:00:00Z'),
      });
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

    describeReissueContract(() => store);
  });
}
