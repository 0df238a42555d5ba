import { SessionStoreUnavailableError } from '@tessera/session';
import type { SessionRecord } from '@tessera/session';
import { sessionRecordFixture } from '@tessera/session/testing';
import { startTcpProxy } from '@tessera/testing-support';
import { createClient } from 'redis';
import { RedisSessionStore, nodeRedisClient } from '../src';
import type { NodeRedisConnection, SessionRedisClient } from '../src';
import { REDIS_URL, connectTestRedis, dropPrefix, freshPrefix, testStore } from './support/redis-store';

const HOUR = 3_600_000;

/** Waits until `condition` holds, polling; fails after `ms`. */
async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A session that is live now (real time), for what Redis's own clock decides. */
function liveNow(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = new Date();
  return sessionRecordFixture({
    createdAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + HOUR),
    absoluteExpiresAt: new Date(now.getTime() + 2 * HOUR),
    ...overrides,
  });
}

/** The client, with every script call recorded and, when armed, the n-th one failed. */
function recording(client: SessionRedisClient) {
  const calls: Array<{ sha: string; keys: string[] }> = [];
  let failAt: { n: number; after: boolean } | undefined;
  let noScriptFault = false;
  const wrapped: SessionRedisClient = {
    get isReady() {
      return client.isReady;
    },
    publish: (channel, message) => client.publish(channel, message),
    subscriber: () => client.subscriber(),
    // The EVAL that follows a NOSCRIPT is the same call: a fault armed for it applies there.
    eval: async (script, keys, args) => {
      const fault = noScriptFault;
      noScriptFault = false;
      const reply = await client.eval(script, keys, args);
      if (fault) throw new SessionStoreUnavailableError('injected: after the call');
      return reply;
    },
    evalSha: async (sha, keys, args) => {
      calls.push({ sha, keys });
      const fault = failAt && calls.length === failAt.n ? failAt : undefined;
      // A write interrupted before it reaches Redis, or after (the reply is lost).
      if (fault && !fault.after) throw new SessionStoreUnavailableError('injected: before the call');
      let reply: unknown;
      try {
        reply = await client.evalSha(sha, keys, args);
      } catch (error) {
        noScriptFault = fault !== undefined;
        throw error;
      }
      if (fault) throw new SessionStoreUnavailableError('injected: after the call');
      return reply;
    },
  };
  return {
    client: wrapped,
    calls,
    failAt(n: number, after: boolean) {
      calls.length = 0;
      failAt = { n, after };
    },
    reset() {
      calls.length = 0;
      failAt = undefined;
    },
  };
}

describe('RedisSessionStore on Redis (beyond the contract)', () => {
  let connection: NodeRedisConnection;
  const prefixes: string[] = [];

  beforeAll(async () => {
    connection = await connectTestRedis();
  });

  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(connection, prefix);
    await connection.close();
  });

  function store(client: SessionRedisClient, options: ConstructorParameters<typeof RedisSessionStore>[1] = {}) {
    const keyPrefix = freshPrefix();
    prefixes.push(keyPrefix);
    return new RedisSessionStore(client, { keyPrefix, ...options });
  }

  it('rotates, finds and touches in one round trip each', async () => {
    const recorder = recording(nodeRedisClient(connection));
    const sessions = store(recorder.client);
    const record = liveNow();
    await sessions.create(record);
    for (const [what, call] of [
      ['findById', () => sessions.findById(record.id)],
      [
        'rotateRefresh',
        () =>
          sessions.rotateRefresh(record.id, {
            expectedRefreshHash: record.refreshHash,
            refreshHash: 'next',
            now: new Date(),
            expiresAt: new Date(Date.now() + HOUR),
          }),
      ],
      ['touch', () => sessions.touch(record.id, new Date(), new Date(Date.now() + HOUR))],
      ['revoke', () => sessions.revoke(record.id, 'logout', new Date())],
    ] as const) {
      recorder.reset();
      await call();
      expect({ what, calls: recorder.calls.length }).toEqual({ what, calls: 1 });
    }
  });

  it('loads its scripts again after SCRIPT FLUSH (NOSCRIPT), and goes back to EVALSHA', async () => {
    const sessions = store(nodeRedisClient(connection));
    const record = liveNow();
    await sessions.create(record);
    const admin = createClient({ url: REDIS_URL });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      await admin.scriptFlush();
      expect(await sessions.findById(record.id)).toEqual(record);
      const rotated = await sessions.rotateRefresh(record.id, {
        expectedRefreshHash: record.refreshHash,
        refreshHash: 'after-flush',
        now: new Date(),
        expiresAt: new Date(Date.now() + HOUR),
      });
      expect(rotated?.refreshHash).toBe('after-flush');
      const stats = String(await admin.info('commandstats'));
      expect(stats).toMatch(/cmdstat_evalsha:calls=\d+/);
    } finally {
      await admin.close();
    }
  });

  it('gives every key an expiry, and Redis drops an ended session by itself; the cleanup prunes what is left', async () => {
    const sessions = store(nodeRedisClient(connection), { retention: '1ms' });
    const now = Date.now();
    const record = liveNow({ expiresAt: new Date(now + 1_500), absoluteExpiresAt: new Date(now + 1_500) });
    await sessions.create(record);
    const admin = connection as unknown as ReturnType<typeof createClient>;
    const key = `{${sessions.keyPrefix}:`;
    const keys: string[] = [];
    for await (const batch of admin.scanIterator({ MATCH: `${key}*:s:*`, COUNT: 1000 })) keys.push(...batch);
    expect(keys).toHaveLength(1);
    expect(await admin.pTTL(keys[0])).toBeGreaterThan(0);
    await until(async () => (await admin.exists(keys[0])) === 0, 'Redis to drop the ended session');
    expect(await sessions.findById(record.id)).toBeNull();
    expect(await sessions.listByUser(record.userId, new Date())).toEqual([]);
    // What expiry leaves: the id in the user's index and in its bucket's end-time index.
    expect(await sessions.deleteExpired(new Date(), 100)).toBe(1);
    expect(await sessions.deleteExpired(new Date(), 100)).toBe(0);
    const indexes: string[] = [];
    for await (const batch of admin.scanIterator({ MATCH: `${key}*:u:*`, COUNT: 1000 })) indexes.push(...batch);
    for (const index of indexes) expect(await admin.zCard(index)).toBe(0);
  });

  describe('a write interrupted at any step leaves no session the user index misses', () => {
    /** Every session `sessions` can find for the user must be listed, and revoked by revokeByUser. */
    async function expectIndexed(sessions: RedisSessionStore, userId: string, ids: string[], at: Date) {
      const visible = (await Promise.all(ids.map((id) => sessions.findById(id)))).filter(
        (record): record is SessionRecord => record !== null && record.revokedAt === null,
      );
      const listed = (await sessions.listByUser(userId, at)).map((record) => record.id).sort();
      expect(listed).toEqual(visible.map((record) => record.id).sort());
      await sessions.revokeByUser(userId, 'logout_all', at);
      expect(await sessions.listByUser(userId, at)).toEqual([]);
      for (const id of ids) expect((await sessions.findById(id))?.revokedAt ?? 'gone').not.toBeNull();
    }

    for (const after of [false, true]) {
      it(`create, the reply lost ${after ? 'after' : 'before'} each call`, async () => {
        const recorder = recording(nodeRedisClient(connection));
        const sessions = store(recorder.client);
        for (const n of [1, 2]) {
          const record = sessionRecordFixture();
          recorder.failAt(n, after);
          await expect(sessions.create(record)).rejects.toThrow(SessionStoreUnavailableError);
          recorder.reset();
          await expectIndexed(sessions, record.userId, [record.id], new Date(record.createdAt.getTime() + HOUR));
        }
      });

      it(`reissue, the reply lost ${after ? 'after' : 'before'} each call: never the successor in force with the old session live`, async () => {
        const recorder = recording(nodeRedisClient(connection));
        const sessions = store(recorder.client);
        for (const n of [1, 2, 3, 4]) {
          const old = sessionRecordFixture();
          await sessions.create(old);
          const at = new Date(old.createdAt.getTime() + HOUR);
          const successor = sessionRecordFixture({ userId: old.userId, createdAt: at, lastSeenAt: at });
          recorder.failAt(n, after);
          const outcome = await sessions.reissue(old.id, successor, 'reissued', at).then(
            (value) => ({ value, calls: recorder.calls.length }),
            (error: Error) => ({ value: error.name, calls: recorder.calls.length }),
          );
          expect({ n, outcome }).toEqual({ n, outcome: { value: 'SessionStoreUnavailableError', calls: n } });
          recorder.reset();
          const [oldNow, successorNow] = [await sessions.findById(old.id), await sessions.findById(successor.id)];
          if (successorNow !== null) expect(oldNow?.revokedReason).toBe('reissued');
          await expectIndexed(sessions, old.userId, [old.id, successor.id], at);
        }
      });
    }
  });

  it('fails at once with SessionStoreUnavailableError while disconnected, and within commandTimeout when Redis hangs', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(REDIS_URL).port || 6379) });
    const client = createClient({ url: `redis://127.0.0.1:${proxy.port}`, socket: { reconnectStrategy: 50 } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const sessions = store(nodeRedisClient(client as unknown as NodeRedisConnection), { commandTimeout: '300ms' });
      const record = liveNow();
      await sessions.create(record);

      proxy.stall();
      const started = Date.now();
      await expect(sessions.findById(record.id)).rejects.toThrow(SessionStoreUnavailableError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);

      proxy.cut();
      await until(() => !client.isReady, 'the client to notice the cut');
      await expect(sessions.findById(record.id)).rejects.toThrow(SessionStoreUnavailableError);
      await expect(sessions.revoke(record.id, 'logout', new Date())).rejects.toThrow(SessionStoreUnavailableError);

      proxy.restore();
      await until(() => client.isReady, 'the client to reconnect');
      expect(await sessions.findById(record.id)).toEqual(record);
    } finally {
      await client.close().catch(() => client.destroy());
      await proxy.close();
    }
  });

  it('resyncs the feed after its connection is lost, and delivers what is published after', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(REDIS_URL).port || 6379) });
    const client = createClient({ url: `redis://127.0.0.1:${proxy.port}`, socket: { reconnectStrategy: 50 } });
    client.on('error', () => undefined);
    await client.connect();
    const watched = store(nodeRedisClient(client as unknown as NodeRedisConnection));
    const direct = testStore(connection, { keyPrefix: watched.keyPrefix });
    const revoked: string[] = [];
    let resyncs = 0;
    const subscription = await watched.watchRevocations({
      revoked: (ids) => revoked.push(...ids),
      userChanged: () => undefined,
      resync: () => {
        resyncs += 1;
      },
    });
    try {
      await until(() => resyncs === 1, 'the first resync');
      const during = liveNow();
      const later = liveNow();
      await direct.create(during);
      await direct.create(later);
      proxy.cut();
      await direct.revoke(during.id, 'admin', new Date());
      proxy.restore();
      await until(() => resyncs >= 2, 'the resync after the reconnect');
      // Missed by the feed, found by what a resync reads.
      expect(revoked).not.toContain(during.id);
      const since = await watched.listRevokedSince(new Date(Date.now() - HOUR));
      expect(since.map((entry) => entry.sessionId)).toContain(during.id);
      await direct.revoke(later.id, 'admin', new Date());
      await until(() => revoked.includes(later.id), 'a revocation after the reconnect');
    } finally {
      await subscription.close();
      await client.close().catch(() => client.destroy());
      await proxy.close();
    }
  });

  it('refuses options that would break the key layout or the timings, saying what to change', () => {
    const client = nodeRedisClient(connection);
    expect(() => new RedisSessionStore(client, { keyPrefix: 'a{b}' })).toThrow(/keyPrefix/);
    expect(() => new RedisSessionStore(client, { buckets: 0 })).toThrow(/buckets/);
    expect(() => new RedisSessionStore(client, { commandTimeout: 'soon' })).toThrow(/commandTimeout.*500ms/);
  });
});
