import { startTcpProxy } from '@tessera/testing-support';
import { createClient } from 'redis';
import { RedisSessionHealthIndicator, RedisSessionStore, nodeRedisClient } from '../src';
import type { NodeRedisConnection } from '../src';
import { REDIS_URL, connectTestRedis, dropPrefix, freshPrefix } from './support/redis-store';

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const noop = { revoked: () => undefined, userChanged: () => undefined, resync: () => undefined };

// Issue 19, item 4: the store package's terminus indicator (store reachable, feed connected, feed staleness).
describe('RedisSessionHealthIndicator', () => {
  let connection: NodeRedisConnection;
  const prefixes: string[] = [];

  beforeAll(async () => {
    connection = await connectTestRedis();
  });

  afterAll(async () => {
    for (const prefix of prefixes) await dropPrefix(connection, prefix);
    await connection.close();
  });

  function store(client: ReturnType<typeof nodeRedisClient>, commandTimeout = '2s'): RedisSessionStore {
    const prefix = freshPrefix();
    prefixes.push(prefix);
    return new RedisSessionStore(client, { keyPrefix: prefix, commandTimeout });
  }

  it('is up with the feed not open, then connected, and reports the staleness; a limit it exceeds makes it down', async () => {
    const sessions = store(nodeRedisClient(connection));
    const indicator = new RedisSessionHealthIndicator(sessions);
    expect(await indicator.isHealthy('sessions')).toEqual({ sessions: { status: 'up', store: 'up', feed: 'not_open', feedStalenessMs: null } });
    expect((await indicator.isHealthy('sessions', { requireFeed: true })).sessions.status).toBe('down');

    const feed = await sessions.watchRevocations(noop);
    try {
      const result = await indicator.isHealthy('sessions');
      expect(result.sessions).toMatchObject({ status: 'up', store: 'up', feed: 'connected' });
      expect(result.sessions['feedStalenessMs']).toEqual(expect.any(Number));
      expect((await indicator.isHealthy('sessions', { maxFeedStalenessMs: 60_000 })).sessions.status).toBe('up');
      expect((await indicator.isHealthy('sessions', { maxFeedStalenessMs: -1 })).sessions.status).toBe('down');
    } finally {
      await feed.close();
    }
    expect((await indicator.isHealthy('sessions')).sessions).toMatchObject({ status: 'up', feed: 'not_open' });
  });

  it('is down, store and feed, while Redis is cut off, and up again after', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(REDIS_URL).port || 6379) });
    const client = createClient({ url: `redis://127.0.0.1:${proxy.port}`, socket: { reconnectStrategy: 50 } });
    client.on('error', () => undefined);
    await client.connect();
    const sessions = store(nodeRedisClient(client as unknown as NodeRedisConnection), '300ms');
    const indicator = new RedisSessionHealthIndicator(sessions);
    const feed = await sessions.watchRevocations(noop);
    try {
      expect((await indicator.isHealthy('sessions')).sessions).toMatchObject({ status: 'up', store: 'up', feed: 'connected' });
      proxy.cut();
      await until(() => !client.isReady, 'the client to notice the cut');
      expect((await indicator.isHealthy('sessions', { timeoutMs: 500 })).sessions).toMatchObject({ status: 'down', store: 'down', feed: 'disconnected' });
      proxy.restore();
      await until(async () => (await indicator.isHealthy('sessions')).sessions.status === 'up', 'the indicator to be up again');
    } finally {
      await feed.close();
      await client.close().catch(() => client.destroy());
      await proxy.close();
    }
  });
});
