/// <reference types="jest" />
import type {
  RevocationFeedListener,
  RevocationFeedSubscription,
  SessionGrants,
  SessionRecord,
  SessionStore,
} from '../lib/interfaces/session-store.interface';
import type { StoredClaims } from '../lib/interfaces/session.interface';
import { hoursAfter as at, randomTestId as id, sessionRecordFixture } from './session-record.factory';

/** Pairs started at once by the concurrency test: enough to keep every connection of a pool busy. */
const RACES = 40;

/**
 * Claims with every kind of JSON value. No NUL character and no lone surrogate: JSON
 * allows them, PostgreSQL's jsonb refuses them, so no store is asked to keep them.
 */
const RICH_CLAIMS: StoredClaims = {
  tenantId: 'acme-42',
  plan: 'pro',
  seats: 25,
  ratio: 0.125,
  negative: -7,
  big: Number.MAX_SAFE_INTEGER,
  tiny: 1e-7,
  zero: 0,
  beta: true,
  trial: false,
  manager: null,
  label: 'Zoë ✓ 東京 مرحبا 👩‍💻 "quoted" \\ back\nline\ttab',
  'key with spaces / and ünïcode ✓': 'x',
  flags: ['read', 'write', 1, false, null, { deep: ['a', { deeper: true }] }],
  nested: { a: { b: { c: [1, [2, [3]]] } }, empty: {}, none: [] },
};

/** A watcher of `store`'s change feed that records what reaches it. */
async function watch(store: SessionStore): Promise<{ revoked: string[]; users: string[]; close(): Promise<void> }> {
  const revoked: string[] = [];
  const users: string[] = [];
  let resyncs = 0;
  const listener: RevocationFeedListener = {
    revoked: (ids) => revoked.push(...ids),
    userChanged: (userIds) => users.push(...userIds),
    resync: () => {
      resyncs += 1;
    },
  };
  const subscription: RevocationFeedSubscription = await store.watchRevocations(listener);
  await until(() => resyncs > 0, 'the first resync');
  return { revoked, users, close: () => subscription.close() };
}

/**
 * The grants part of the contract: custom claims stored with a session as they were
 * given, `updateUserSessions` (only the user's live sessions, announced to every
 * instance, never escaped by a concurrent `reissue`), and the `user_disabled` reason.
 * `peerUnderTest`, when the backend is shared, is another store instance on it (another
 * app instance). Called by `describeSessionStoreContract` inside its describe block.
 */
export function grantsContract(storeUnderTest: () => SessionStore, peerUnderTest?: () => SessionStore): void {
  describe('grants (roles and custom claims)', () => {
    const grants = (tag: string): SessionGrants => ({
      roles: [`role-${tag}`, 'user'],
      claims: { tag, tenantId: `tenant-${tag}`, flags: { admin: tag === 'new' }, list: [tag, 1, null] },
    });
    const withGrants = (record: SessionRecord, given: SessionGrants): SessionRecord => ({
      ...record,
      roles: given.roles,
      claims: given.claims,
    });

    it('keeps claims as given through create, findById, rotateRefresh, reissue and listByUser', async () => {
      const store = storeUnderTest();
      const record = sessionRecordFixture({ claims: RICH_CLAIMS });
      await store.create(record);
      const found = await store.findById(record.id);
      expect(found?.claims).toEqual(RICH_CLAIMS);
      expect(found).toEqual(record);

      // A caller changing what it got changes nothing stored.
      ((found as SessionRecord).claims.nested as { a: { b: unknown } }).a.b = 'changed';
      expect((await store.findById(record.id))?.claims).toEqual(RICH_CLAIMS);

      const rotated = await store.rotateRefresh(record.id, {
        expectedRefreshHash: record.refreshHash,
        refreshHash: 'next-hash',
        now: at(record, 1),
        expiresAt: at(record, 25),
      });
      expect(rotated?.claims).toEqual(RICH_CLAIMS);

      const successor = sessionRecordFixture({
        userId: record.userId,
        roles: record.roles,
        claims: RICH_CLAIMS,
        createdAt: at(record, 2),
        lastSeenAt: at(record, 2),
        expiresAt: at(record, 26),
      });
      expect(await store.reissue(record.id, successor, 'reissued', at(record, 2))).toBe(true);
      expect(await store.findById(successor.id)).toEqual(successor);
      expect(await store.listByUser(record.userId, at(record, 3))).toEqual([successor]);
    });

    it('stores empty claims as an empty object', async () => {
      const store = storeUnderTest();
      const record = sessionRecordFixture({ claims: {} });
      await store.create(record);
      expect((await store.findById(record.id))?.claims).toEqual({});
    });

    it('updateUserSessions sets the grants of the user’s live sessions only, and counts them', async () => {
      const store = storeUnderTest();
      const userId = `user-${id()}`;
      const old = grants('old');
      const [first, second, revoked, expired] = Array.from({ length: 4 }, () =>
        sessionRecordFixture({ userId, ...old }),
      );
      const other = sessionRecordFixture({ ...old });
      for (const record of [first, second, revoked, expired, other]) await store.create(record);
      await store.revoke(revoked.id, 'logout', at(revoked, 1));
      // The fixture's idle expiry is 24 hours after creation: expired at that very time.
      const time = at(expired, 24);
      await store.touch(first.id, at(first, 2), at(first, 30));
      await store.touch(second.id, at(second, 2), at(second, 30));
      const given = grants('new');

      expect(await store.updateUserSessions(userId, given, time)).toBe(2);
      // What the caller keeps is not the store's.
      given.roles.push('pushed after the call');
      (given.claims as { tag: string }).tag = 'changed after the call';

      const touched = { lastSeenAt: at(first, 2), expiresAt: at(first, 30) };
      expect(await store.findById(first.id)).toEqual({ ...withGrants(first, grants('new')), ...touched });
      expect(await store.findById(second.id)).toEqual({ ...withGrants(second, grants('new')), ...touched });
      expect(await store.findById(revoked.id)).toEqual({ ...revoked, revokedAt: at(revoked, 1), revokedReason: 'logout' });
      expect(await store.findById(expired.id)).toEqual(expired);
      expect(await store.findById(other.id)).toEqual(other);
      expect((await store.listByUser(userId, time)).map((record) => record.claims)).toEqual([
        grants('new').claims,
        grants('new').claims,
      ]);
    });

    it('updateUserSessions of a user without a live session updates nothing and returns 0', async () => {
      const store = storeUnderTest();
      const revoked = sessionRecordFixture();
      await store.create(revoked);
      await store.revoke(revoked.id, 'logout', at(revoked, 1));
      expect(await store.updateUserSessions(revoked.userId, grants('new'), at(revoked, 2))).toBe(0);
      expect(await store.updateUserSessions(`user-${id()}`, grants('new'), at(revoked, 2))).toBe(0);
      expect((await store.findById(revoked.id))?.roles).toEqual(revoked.roles);
    });

    it('announces updateUserSessions to watchers as userChanged, even for a user without a live session', async () => {
      const store = storeUnderTest();
      const watcher = await watch(store);
      try {
        const record = sessionRecordFixture();
        await store.create(record);
        const nobody = `user-${id()}`;
        expect(await store.updateUserSessions(record.userId, grants('new'), at(record, 1))).toBe(1);
        expect(await store.updateUserSessions(nobody, grants('new'), at(record, 1))).toBe(0);
        await until(() => watcher.users.includes(record.userId) && watcher.users.includes(nobody), 'both user changes');
        // A user change is not a revocation, and a revocation is not a user change.
        await store.revoke(record.id, 'logout', at(record, 2));
        await until(() => watcher.revoked.includes(record.id), 'the revocation');
        expect(watcher.revoked).not.toContain(record.userId);
        expect(watcher.users).not.toContain(record.id);
      } finally {
        await watcher.close();
      }
    });

    (peerUnderTest ? it : it.skip)('announces updateUserSessions to a watcher of another store instance on the same backend', async () => {
      const store = storeUnderTest();
      const watcher = await watch((peerUnderTest as () => SessionStore)());
      try {
        const userId = `user-${id()}`;
        await store.updateUserSessions(userId, grants('new'), new Date());
        await until(() => watcher.users.includes(userId), 'the user change on the other instance');
      } finally {
        await watcher.close();
      }
    });

    it('a reissue racing updateUserSessions leaves the successor with the new grants, in either order', async () => {
      // Half of the pairs send the update first. Whichever the store runs first, exactly one
      // session of the user is live throughout, so the update counts 1, and once both have
      // returned the successor holds the new grants: inherited from the old session when the
      // update came first, set by the update when the reissue did. The successor is built
      // with the old grants, as a caller that read the session before the update would.
      const store = storeUnderTest();
      const olds = Array.from({ length: RACES }, () => sessionRecordFixture(grants('old')));
      await Promise.all(olds.map((old) => store.create(old)));
      const successors = olds.map((old) =>
        sessionRecordFixture({
          userId: old.userId,
          ...grants('old'),
          createdAt: at(old, 1),
          lastSeenAt: at(old, 1),
          expiresAt: at(old, 25),
          absoluteExpiresAt: old.absoluteExpiresAt,
        }),
      );
      const outcomes = await Promise.all(
        olds.map(async (old, i): Promise<[boolean, number]> => {
          const reissue = () => store.reissue(old.id, successors[i], 'reissued', at(old, 1));
          const update = () => store.updateUserSessions(old.userId, grants('new'), at(old, 1));
          if (i % 2 === 0) return Promise.all([reissue(), update()]);
          const [updated, reissued] = await Promise.all([update(), reissue()]);
          return [reissued, updated];
        }),
      );
      for (const [i, [reissued, updated]] of outcomes.entries()) {
        const [old, successor] = [olds[i], successors[i]];
        expect([reissued, updated]).toEqual([true, 1]);
        expect(await store.findById(successor.id)).toEqual(withGrants(successor, grants('new')));
        expect(await store.listByUser(old.userId, at(old, 1))).toEqual([withGrants(successor, grants('new'))]);
        // The old session was revoked before or after the update: it holds one or the other.
        const revoked = await store.findById(old.id);
        expect(revoked?.revokedReason).toBe('reissued');
        expect([grants('old'), grants('new')]).toContainEqual({ roles: revoked?.roles, claims: revoked?.claims });
      }
    });

    it('stores and lists a revocation for a disabled user (user_disabled)', async () => {
      const store = storeUnderTest();
      const one = sessionRecordFixture();
      const userId = `user-${id()}`;
      const many = [sessionRecordFixture({ userId }), sessionRecordFixture({ userId })];
      for (const record of [one, ...many]) await store.create(record);
      const time = at(one, 1);
      expect(await store.revoke(one.id, 'user_disabled', time)).toBe(true);
      expect(new Set(await store.revokeByUser(userId, 'user_disabled', time))).toEqual(new Set(many.map((r) => r.id)));
      for (const record of [one, ...many]) {
        expect(await store.findById(record.id)).toEqual({ ...record, revokedAt: time, revokedReason: 'user_disabled' });
      }
      const listed = await store.listRevokedSince(time);
      for (const record of [one, ...many]) expect(listed).toContainEqual({ sessionId: record.id, revokedAt: time });
    });
  });
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
