import { InMemorySessionStore } from '@tessera/session';
import type { RevocationFeedListener, SessionRecord, SessionStore } from '@tessera/session';
import { sessionRecordFixture } from '@tessera/session/testing';
import { RedisSessionStore, nodeRedisClient } from '../src';
import type { NodeRedisConnection, SessionRedisClient } from '../src';
import { connectTestRedis, dropPrefix, freshPrefix } from './support/redis-store';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Waits until `condition` holds, polling; fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The client, with the keys of every script call and the channels of every subscription recorded. */
function recording(client: SessionRedisClient) {
  const calls: string[][] = [];
  const subscriptions: string[][] = [];
  const wrapped: SessionRedisClient = {
    get isReady() {
      return client.isReady;
    },
    publish: (channel, message) => client.publish(channel, message),
    eval: (script, keys, args) => client.eval(script, keys, args),
    evalSha: (sha, keys, args) => {
      calls.push(keys);
      return client.evalSha(sha, keys, args);
    },
    subscriber: async () => {
      const subscriber = await client.subscriber();
      return {
        subscribe: (channels, onMessage) => {
          subscriptions.push([...channels]);
          return subscriber.subscribe(channels, onMessage);
        },
        onReconnect: (listener) => subscriber.onReconnect(listener),
        get isReady() {
          return subscriber.isReady;
        },
        close: () => subscriber.close(),
      };
    },
  };
  return { client: wrapped, calls, subscriptions };
}

/** A feed listener that keeps what it hears. */
function hearing(withCommitted: boolean) {
  const revoked: string[] = [];
  const committed: Array<{ id: string; at: Date; heardAt: number }> = [];
  let resyncs = 0;
  const listener: RevocationFeedListener = {
    revoked: (ids) => revoked.push(...ids),
    userChanged: () => undefined,
    resync: () => {
      resyncs += 1;
    },
    ...(withCommitted ? { committed: (id: string, at: Date) => committed.push({ id, at, heardAt: Date.now() }) } : {}),
  };
  return { listener, revoked, committed, resyncs: () => resyncs };
}

for (const target of ['server', 'cluster'] as const) {
  describe(`RedisSessionStore telemetry: live count and commit times (${target === 'server' ? 'one server' : 'a three-master cluster'})`, () => {
    let connection: NodeRedisConnection;
    let peerConnection: NodeRedisConnection;
    const prefixes: string[] = [];

    beforeAll(async () => {
      [connection, peerConnection] = await Promise.all([connectTestRedis(target), connectTestRedis(target)]);
    });

    afterAll(async () => {
      for (const prefix of prefixes) await dropPrefix(connection, prefix);
      await Promise.all([connection.close(), peerConnection.close()]);
    });

    /** A store on `client` with a fresh prefix, and another instance's (its own connection, the same prefix). */
    function stores(client: SessionRedisClient = nodeRedisClient(connection), buckets?: number) {
      const keyPrefix = freshPrefix();
      prefixes.push(keyPrefix);
      const options = { keyPrefix, ...(buckets === undefined ? {} : { buckets }) };
      return { store: new RedisSessionStore(client, options), peer: new RedisSessionStore(nodeRedisClient(peerConnection), options) };
    }

    describe('countLiveSessions', () => {
      const start = sessionRecordFixture().createdAt.getTime();
      const at = (minutes: number) => new Date(start + minutes * MINUTE);
      /** A session created at `start`, idle until `idle` minutes, absolutely until `absolute` minutes. */
      const session = (idle: number, absolute: number, overrides: Partial<SessionRecord> = {}) =>
        sessionRecordFixture({ expiresAt: at(idle), absoluteExpiresAt: at(absolute), ...overrides });

      /**
       * The same history on `store`: sessions of each kind, `copies` of each (random ids,
       * so over many buckets). Returns the ids that are live at 45 minutes.
       */
      async function history(store: SessionStore, copies: number): Promise<string[]> {
        const liveAt45: string[] = [];
        for (let n = 0; n < copies; n++) {
          const live = session(60, 180);
          const revoked = session(60, 180);
          const idleExpired = session(20, 180);
          // Touched at 25 up to its absolute expiry (40): live at 35, absolutely expired at 45.
          const absoluteExpired = session(30, 40);
          // Idle until 15, refreshed at 10 until 70: the refresh moves its end.
          const refreshed = session(15, 180);
          // Touched at 10 until 50.
          const touched = session(15, 180);
          const old = session(60, 180);
          const successor = session(65, 180, { userId: old.userId, createdAt: at(5), lastSeenAt: at(5), authenticatedAt: at(5) });
          const reused = session(60, 180);
          const user = session(60, 180);
          const sameUser = session(60, 180, { userId: user.userId });
          for (const record of [live, revoked, idleExpired, absoluteExpired, refreshed, touched, old, reused, user, sameUser]) {
            await store.create(record);
          }
          expect(await store.reissue(old.id, successor, 'reissued', at(5))).toBe(true);
          expect(await store.revoke(revoked.id, 'logout', at(10))).toBe(true);
          const rotation = { expectedRefreshHash: reused.refreshHash, refreshHash: `${reused.refreshHash}-2`, now: at(6), expiresAt: at(66) };
          expect(await store.rotateRefresh(reused.id, rotation)).not.toBeNull();
          expect(await store.rotateRefresh(reused.id, { ...rotation, now: at(7) })).toBeNull();
          expect(await store.revoke(reused.id, 'refresh_token_reused', at(7))).toBe(true);
          expect(
            await store.rotateRefresh(refreshed.id, {
              expectedRefreshHash: refreshed.refreshHash,
              refreshHash: `${refreshed.refreshHash}-2`,
              now: at(10),
              expiresAt: at(70),
            }),
          ).not.toBeNull();
          expect(await store.touch(touched.id, at(10), at(50))).toBe(true);
          expect(await store.revokeByUser(user.userId, 'logout_all', at(12))).toHaveLength(2);
          expect(await store.touch(absoluteExpired.id, at(25), at(85))).toBe(true);
          liveAt45.push(live.id, refreshed.id, touched.id, successor.id);
        }
        return liveAt45;
      }

      it('counts exactly the live sessions: never revoked, idle-expired, absolutely expired or a reissued one', async () => {
        const { store } = stores();
        const memory = new InMemorySessionStore();
        const copies = 6;
        const live = await history(store, copies);
        await history(memory, copies);
        expect(live).toHaveLength(4 * copies);
        // From the history's last revocation (12) on: before its date, a revocation counts as live (see countLiveSessions).
        for (const [minutes, expected] of [
          [12, 6 * copies],
          [19, 6 * copies],
          [20, 5 * copies],
          [35, 5 * copies],
          [40, 4 * copies],
          [45, 4 * copies],
          [50, 3 * copies],
          [60, 2 * copies],
          [65, 1 * copies],
          [70, 0],
          [24 * 60, 0],
        ] as const) {
          const counted = { minutes, count: await store.countLiveSessions(at(minutes)) };
          expect(counted).toEqual({ minutes, count: expected });
          expect(counted).toEqual({ minutes, count: await memory.countLiveSessions(at(minutes)) });
        }
      });

      it('asks each bucket once, for its end-time index only (never a scan of the sessions)', async () => {
        const recorder = recording(nodeRedisClient(connection));
        const { store } = stores(recorder.client, 8);
        for (let n = 0; n < 20; n++) await store.create(session(60, 180));
        recorder.calls.length = 0;
        expect(await store.countLiveSessions(at(30))).toBe(20);
        expect(recorder.calls).toHaveLength(8);
        expect(new Set(recorder.calls.map((keys) => keys.join(' ')))).toEqual(
          new Set(Array.from({ length: 8 }, (_, n) => `{${store.keyPrefix}:${n}}:x`)),
        );
      });
    });

    describe("the feed's commit times", () => {
      const live = () => {
        const now = Date.now();
        return sessionRecordFixture({
          createdAt: new Date(now),
          authenticatedAt: new Date(now),
          lastSeenAt: new Date(now),
          expiresAt: new Date(now + HOUR),
          absoluteExpiresAt: new Date(now + 2 * HOUR),
        });
      };

      it('gives `committed` the time Redis committed each revocation: revoke, revokeByUser, reissue and reuse, by any instance', async () => {
        const { store, peer } = stores();
        const heard = hearing(true);
        const subscription = await store.watchRevocations(heard.listener);
        try {
          await until(() => heard.resyncs() >= 1, 'the first resync');
          const revoked = live();
          const byUser = [live(), live()].map((record, n) => ({ ...record, userId: revoked.userId, id: `${record.id}-${n}` }));
          const old = live();
          const successor = { ...live(), userId: old.userId };
          const reused = live();
          for (const record of [revoked, ...byUser, old, reused]) await peer.create(record);

          const before = Date.now();
          expect(await peer.revoke(revoked.id, 'logout', new Date())).toBe(true);
          expect((await store.revokeByUser(revoked.userId, 'logout_all', new Date())).sort()).toEqual(byUser.map((r) => r.id).sort());
          expect(await peer.reissue(old.id, successor, 'reissued', new Date())).toBe(true);
          const rotation = { expectedRefreshHash: reused.refreshHash, refreshHash: 'next', now: new Date(), expiresAt: new Date(Date.now() + HOUR) };
          expect(await store.rotateRefresh(reused.id, rotation)).not.toBeNull();
          expect(await store.rotateRefresh(reused.id, rotation)).toBeNull();
          expect(await store.revoke(reused.id, 'refresh_token_reused', new Date())).toBe(true);

          const ids = [revoked.id, ...byUser.map((record) => record.id), old.id, reused.id].sort();
          await until(() => heard.committed.length >= ids.length && heard.revoked.length >= ids.length, 'every revocation and its time');
          // `revoked` still gets bare ids, each once.
          expect([...heard.revoked].sort()).toEqual(ids);
          expect(heard.committed.map((entry) => entry.id).sort()).toEqual(ids);
          for (const { at, heardAt } of heard.committed) {
            // Redis's clock, on this machine: after the calls began (a minute's slack), never
            // later than when it was heard (five seconds' slack for the clocks).
            expect(at.getTime()).toBeGreaterThanOrEqual(before - MINUTE);
            expect(at.getTime()).toBeLessThanOrEqual(heardAt + 5_000);
            expect(heardAt - at.getTime()).toBeLessThan(MINUTE);
          }
          // A session already revoked is not revoked again: no second time.
          expect(await store.revoke(revoked.id, 'admin', new Date())).toBe(false);
          const marker = live();
          await peer.create(marker);
          await peer.revoke(marker.id, 'admin', new Date());
          await until(() => heard.committed.some((entry) => entry.id === marker.id), 'the marker revocation');
          expect(heard.committed.filter((entry) => entry.id === revoked.id)).toHaveLength(1);
        } finally {
          await subscription.close();
        }
      });

      it('ignores a malformed commit-time message', async () => {
        const { store } = stores();
        const heard = hearing(true);
        const subscription = await store.watchRevocations(heard.listener);
        try {
          await until(() => heard.resyncs() >= 1, 'the first resync');
          const channel = `${store.keyPrefix}:revoked-at`;
          for (const message of ['', 'bare-id', ' 1700000000000', 'id ', 'id 17000x0000000', 'id -1700000000', 'id 1.5', 'id 1234567890123456', 'id  1700000000000x']) {
            await connection.publish(channel, message);
          }
          await connection.publish(channel, 'marker 1700000000123');
          await until(() => heard.committed.length > 0, 'the well-formed message');
          // Messages of one channel from one client arrive in order: the malformed ones came first.
          expect(heard.committed).toEqual([{ id: 'marker', at: new Date(1_700_000_000_123), heardAt: expect.any(Number) }]);
          expect(heard.revoked).toEqual([]);
        } finally {
          await subscription.close();
        }
      });

      it.each(['committed', 'revoked'] as const)('keeps delivering revocations when `%s` throws', async (thrower) => {
        const { store, peer } = stores();
        const heard = hearing(true);
        const subscription = await store.watchRevocations({
          ...heard.listener,
          [thrower]: (...args: [never, never]) => {
            (heard.listener[thrower] as (...a: [never, never]) => void)(...args);
            throw new Error(`a broken ${thrower} listener`);
          },
        });
        try {
          await until(() => heard.resyncs() >= 1, 'the first resync');
          // One user's sessions, revoked together: their messages tend to share a read from
          // the socket, the rest of which node-redis drops when a listener throws.
          const first = live();
          const records = [first, ...Array.from({ length: 5 }, () => ({ ...live(), userId: first.userId }))];
          for (const record of records) await peer.create(record);
          const ids = (await peer.revokeByUser(first.userId, 'logout_all', new Date())).sort();
          expect(ids).toEqual(records.map((record) => record.id).sort());
          await until(() => heard.revoked.length >= ids.length && heard.committed.length >= ids.length, 'every revocation and its time');
          // One more after them: a connection the throw had broken would be back by then, and have resynced.
          const after = live();
          await peer.create(after);
          await peer.revoke(after.id, 'admin', new Date());
          await until(
            () => heard.revoked.includes(after.id) && heard.committed.some((entry) => entry.id === after.id),
            'the last revocation and its time',
          );
          expect([...heard.revoked].sort()).toEqual([...ids, after.id].sort());
          expect(heard.committed.map((entry) => entry.id).sort()).toEqual([...ids, after.id].sort());
          expect(heard.resyncs()).toBe(1);
        } finally {
          await subscription.close();
        }
      });

      it('subscribes to commit times only for a listener that takes them; revocations reach both alike', async () => {
        const recorder = recording(nodeRedisClient(connection));
        const { store, peer } = stores(recorder.client);
        const without = hearing(false);
        const withTimes = hearing(true);
        const first = await store.watchRevocations(without.listener);
        const second = await store.watchRevocations(withTimes.listener);
        try {
          const revokedAt = `${store.keyPrefix}:revoked-at`;
          expect(recorder.subscriptions).toHaveLength(2);
          expect(recorder.subscriptions[0]).not.toContain(revokedAt);
          expect(recorder.subscriptions[1]).toContain(revokedAt);
          expect(recorder.subscriptions[0]).toEqual(recorder.subscriptions[1].filter((channel) => channel !== revokedAt));
          if (target === 'server') {
            // On the server itself: one subscriber on the commit times, two on the ids.
            const counts = (await (connection as unknown as { pubSubNumSub(channels: string[]): Promise<Record<string, number>> }).pubSubNumSub([
              revokedAt,
              `${store.keyPrefix}:revoked`,
            ])) as Record<string, number>;
            expect(counts).toEqual({ [revokedAt]: 1, [`${store.keyPrefix}:revoked`]: 2 });
          }
          await until(() => without.resyncs() >= 1 && withTimes.resyncs() >= 1, 'the first resyncs');
          const record = live();
          await peer.create(record);
          await peer.revoke(record.id, 'logout', new Date());
          await until(() => without.revoked.length > 0 && withTimes.committed.length > 0, 'the revocation on both feeds');
          expect(without.revoked).toEqual([record.id]);
          expect(withTimes.revoked).toEqual([record.id]);
          expect(without.committed).toEqual([]);
        } finally {
          await Promise.all([first.close(), second.close()]);
        }
      });
    });
  });
}
