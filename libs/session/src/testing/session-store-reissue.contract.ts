/// <reference types="jest" />
import type { SessionRecord, SessionStore } from '../lib/interfaces/session-store.interface';
import { hoursAfter as at, randomTestId as id, sessionRecordFixture } from './session-record.factory';

/** Races started at once per concurrency test: enough to keep every connection of a pool busy. */
const RACES = 40;

/**
 * The `reissue` part of the contract: moving a session to a new
 * id is one atomic step, so a revocation that lands first leaves no successor behind and
 * one that lands later revokes the successor too. Called by `describeSessionStoreContract`.
 */
export function describeReissueContract(storeUnderTest: () => SessionStore): void {
  describe('reissue', () => {
    /** A successor of `old` as `SessionService.reissue` builds it, `hours` after `old` began. */
    const successorOf = (old: SessionRecord, hours = 1) =>
      sessionRecordFixture({
        userId: old.userId,
        roles: old.roles,
        createdAt: at(old, hours),
        lastSeenAt: at(old, hours),
        expiresAt: at(old, hours + 24),
        absoluteExpiresAt: old.absoluteExpiresAt,
      });
    async function created(count: number, overrides: Partial<SessionRecord> = {}): Promise<SessionRecord[]> {
      const records = Array.from({ length: count }, () => sessionRecordFixture(overrides));
      await Promise.all(records.map((record) => storeUnderTest().create(record)));
      return records;
    }
    /**
     * RACES new sessions, each reissued to a successor while `rival` runs on it, every pair
     * at once and half of them with the rival sent first; per pair, what the reissue and
     * the rival returned.
     */
    async function raceReissues<T>(rival: (store: SessionStore, old: SessionRecord) => Promise<T>) {
      const store = storeUnderTest();
      const olds = await created(RACES);
      const successors = olds.map((old) => successorOf(old));
      const outcomes = await Promise.all(
        olds.map(async (old, i): Promise<[boolean, T]> => {
          const reissue = () => store.reissue(old.id, successors[i], 'reissued', at(old, 1));
          if (i % 2 === 0) return Promise.all([reissue(), rival(store, old)]);
          const [rivalled, reissued] = await Promise.all([rival(store, old), reissue()]);
          return [reissued, rivalled];
        }),
      );
      return { store, olds, successors, outcomes };
    }

    it('revokes the old session and stores its successor together', async () => {
      const store = storeUnderTest();
      const [old] = await created(1);
      const successor = successorOf(old);
      expect(await store.reissue(old.id, successor, 'reissued', at(old, 1))).toBe(true);
      expect(await store.findById(old.id)).toEqual({ ...old, revokedAt: at(old, 1), revokedReason: 'reissued' });
      expect(await store.findById(successor.id)).toEqual(successor);
      expect((await store.listByUser(old.userId, at(old, 2))).map((record) => record.id)).toEqual([successor.id]);
    });

    it("finding 6: creates nothing for a session already revoked, expired, unknown, or another user's", async () => {
      const store = storeUnderTest();
      const [revoked, expired, foreign] = await created(3);
      await store.revoke(revoked.id, 'refresh_token_reused', at(revoked, 0.5));
      const attempts: Array<[string, SessionRecord, Date]> = [
        [revoked.id, successorOf(revoked), at(revoked, 1)],
        // The fixture's idle expiry is 24 hours after creation: expired at that very time.
        [expired.id, successorOf(expired, 24), at(expired, 24)],
        [id(), successorOf(expired), at(expired, 1)],
        [foreign.id, { ...successorOf(foreign), userId: `user-${id()}` }, at(foreign, 1)],
      ];
      for (const [oldId, successor, time] of attempts) {
        expect(await store.reissue(oldId, successor, 'reissued', time)).toBe(false);
        expect(await store.findById(successor.id)).toBeNull();
      }
      expect(await store.findById(revoked.id)).toMatchObject({ revokedAt: at(revoked, 0.5), revokedReason: 'refresh_token_reused' });
      expect((await store.findById(expired.id))?.revokedAt).toBeNull();
      expect(await store.findById(foreign.id)).toEqual(foreign);
    });

    it('fails as a whole when the successor id is taken, leaving the old session live', async () => {
      const store = storeUnderTest();
      const [old, taken] = await created(2);
      await expect(store.reissue(old.id, { ...successorOf(old), id: taken.id }, 'reissued', at(old, 1))).rejects.toThrow();
      expect(await store.findById(old.id)).toEqual(old);
      expect(await store.findById(taken.id)).toEqual(taken);
    });

    it('announces the revocation of the old id to watchers', async () => {
      const store = storeUnderTest();
      const received: string[] = [];
      let resyncs = 0;
      const subscription = await store.watchRevocations({
        revoked: (ids) => received.push(...ids),
        userChanged: () => undefined,
        resync: () => {
          resyncs += 1;
        },
      });
      try {
        await until(() => resyncs > 0, 'the first resync');
        const [old] = await created(1);
        expect(await store.reissue(old.id, successorOf(old), 'reissued', at(old, 1))).toBe(true);
        await until(() => received.includes(old.id), 'the revocation of the old id');
      } finally {
        await subscription.close();
      }
    });

    it('finding 6: of many concurrent reissues of one session, exactly one succeeds', async () => {
      const store = storeUnderTest();
      const [old] = await created(1);
      const successors = Array.from({ length: 10 }, () => successorOf(old));
      const results = await Promise.all(successors.map((next) => store.reissue(old.id, next, 'reissued', at(old, 1))));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = successors[results.indexOf(true)];
      expect((await store.listByUser(old.userId, at(old, 2))).map((record) => record.id)).toEqual([winner.id]);
      for (const loser of successors.filter((next) => next !== winner)) expect(await store.findById(loser.id)).toBeNull();
    });

    it('finding 6: of a reissue and a concurrent revoke of the same session, exactly one wins', async () => {
      const { store, olds, successors, outcomes } = await raceReissues((store, old) =>
        store.revoke(old.id, 'refresh_token_reused', at(old, 1)),
      );
      for (const [i, [reissued, revoked]] of outcomes.entries()) {
        expect([reissued, revoked]).toEqual(reissued ? [true, false] : [false, true]);
        const [old, successor] = [await store.findById(olds[i].id), await store.findById(successors[i].id)];
        expect(old?.revokedReason).toBe(reissued ? 'reissued' : 'refresh_token_reused');
        expect(successor).toEqual(reissued ? successors[i] : null);
      }
    });

    it('finding 6: a reissue racing a revocation of all of the user’s sessions leaves the user no live session', async () => {
      // In either order the outcome is the same: a revokeByUser that comes first leaves the
      // reissue nothing to move; one that comes after revokes the successor too. What must
      // never happen is the successor escaping a revokeByUser that ran at the same time.
      const { store, olds, successors, outcomes } = await raceReissues((store, old) =>
        store.revokeByUser(old.userId, 'logout_all', at(old, 1)),
      );
      for (const [i, [reissued, revokedIds]] of outcomes.entries()) {
        const [old, successor] = [olds[i], successors[i]];
        expect(await store.listByUser(old.userId, at(old, 2))).toEqual([]);
        expect(revokedIds).toEqual([reissued ? successor.id : old.id]);
        expect((await store.findById(old.id))?.revokedReason).toBe(reissued ? 'reissued' : 'logout_all');
        expect(await store.findById(successor.id)).toEqual(
          reissued ? { ...successor, revokedAt: at(old, 1), revokedReason: 'logout_all' } : null,
        );
      }
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
