import { InMemorySessionStore } from '@tessera/session';
import type { SessionRecord, SessionStore } from '@tessera/session';
import { sessionRecordFixture } from '@tessera/session/testing';
import { RedisSessionStore, nodeRedisClient } from '../src';
import type { NodeRedisConnection, SessionRedisClient } from '../src';
import { connectTestRedis, dropPrefix, freshPrefix } from './support/redis-store';

const MINUTE = 60_000;

/** The client, with the keys of every script call recorded. */
function recording(client: SessionRedisClient) {
  const calls: string[][] = [];
  const wrapped: SessionRedisClient = {
    get isReady() {
      return client.isReady;
    },
    publish: (channel, message) => client.publish(channel, message),
    eval: (script, keys, args) => client.eval(script, keys, args),
    subscriber: () => client.subscriber(),
    evalSha: (sha, keys, args) => {
      calls.push(keys);
      return client.evalSha(sha, keys, args);
    },
  };
  return { client: wrapped, calls };
}

for (const target of ['server', 'cluster'] as const) {
  describe(`RedisSessionStore telemetry: live count (${target === 'server' ? 'one server' : 'a three-master cluster'})`, () => {
    let connection: NodeRedisConnection;
    const prefixes: string[] = [];

    beforeAll(async () => {
      connection = await connectTestRedis(target);
    });

    afterAll(async () => {
      for (const prefix of prefixes) await dropPrefix(connection, prefix);
      await connection.close();
    });

    /** A store on `client` with a fresh prefix. */
    function stores(client: SessionRedisClient = nodeRedisClient(connection), buckets?: number) {
      const keyPrefix = freshPrefix();
      prefixes.push(keyPrefix);
      const options = { keyPrefix, ...(buckets === undefined ? {} : { buckets }) };
      return { store: new RedisSessionStore(client, options) };
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
  });
}
