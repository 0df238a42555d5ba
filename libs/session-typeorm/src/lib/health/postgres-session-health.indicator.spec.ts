import { startTcpProxy } from '@tessera/testing-support';
import { DataSource } from 'typeorm';
import { PostgresSessionHealthIndicator, PostgresSessionStore, sessionEntities, sessionMigrations } from '../../index';
import { isSessionHealthy as healthy, sessionHealthDetails } from '@tessera/session';

const url = () => {
  const value = process.env.TESSERA_TEST_DATABASE_URL;
  if (!value) throw new Error('The PostgreSQL global setup did not provide a database URL');
  return value;
};

async function until(condition: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const noop = { revoked: () => undefined, userChanged: () => undefined, resync: () => undefined };

// Issue 19, item 4: the store package's terminus indicator (store reachable, feed connected, feed staleness).
describe('PostgresSessionHealthIndicator', () => {
  it('is up with the feed not open, then connected with its staleness; down when required and absent, or staler than the limit', async () => {
    const dataSource = new DataSource({ type: 'postgres', url: url(), entities: sessionEntities, migrations: sessionMigrations });
    await dataSource.initialize();
    await dataSource.runMigrations();
    const store = new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]));
    const indicator = new PostgresSessionHealthIndicator(store);
    try {
      expect(await indicator.isHealthy('sessions')).toEqual({ sessions: { status: 'up', store: 'up', feed: 'not_open', feedStalenessMs: null } });
      expect((await indicator.isHealthy('sessions', { requireFeed: true })).sessions.status).toBe('down');
      const feed = await store.watchRevocations(noop);
      try {
        const result = await indicator.isHealthy('sessions', { requireFeed: true, maxFeedStalenessMs: 60_000 });
        expect(result.sessions).toMatchObject({ status: 'up', store: 'up', feed: 'connected' });
        expect(result.sessions['feedStalenessMs']).toEqual(expect.any(Number));
        expect((await indicator.isHealthy('sessions', { maxFeedStalenessMs: -1 })).sessions.status).toBe('down');
      } finally {
        await feed.close();
      }
      expect((await indicator.isHealthy('sessions')).sessions).toMatchObject({ status: 'up', feed: 'not_open' });
    } finally {
      await dataSource.destroy();
    }
  });

  it('is down, store and feed, while PostgreSQL is cut off, and up again after', async () => {
    const proxy = await startTcpProxy({ port: Number(new URL(url()).port || 5432) });
    const proxied = new URL(url());
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const dataSource = new DataSource({ type: 'postgres', url: proxied.toString(), entities: sessionEntities });
    await dataSource.initialize();
    const store = new PostgresSessionStore(dataSource.getRepository(sessionEntities[0]), {
      commandTimeout: '300ms',
      feed: { reconnectMinDelayMs: 50, reconnectMaxDelayMs: 200, heartbeatMs: 60_000 },
    });
    const indicator = new PostgresSessionHealthIndicator(store);
    const feed = await store.watchRevocations(noop);
    try {
      expect((await indicator.isHealthy('sessions')).sessions).toMatchObject({ status: 'up', store: 'up', feed: 'connected' });
      proxy.cut();
      await until(() => store.feedStatus().connected === false, 'the feed to notice the cut');
      expect((await indicator.isHealthy('sessions', { timeoutMs: 1_000 })).sessions).toMatchObject({ status: 'down', store: 'down', feed: 'disconnected' });
      proxy.restore();
      await until(async () => (await indicator.isHealthy('sessions')).sessions.status === 'up', 'the indicator to be up again');
    } finally {
      await feed.close();
      await dataSource.destroy().catch(() => undefined);
      await proxy.close();
    }
  });

  it('counts a round trip slower than the timeout as down', async () => {
    const details = await sessionHealthDetails(() => new Promise(() => undefined), { open: false, connected: false, lastActivityAt: null }, 20);
    expect(details).toEqual({ store: 'down', feed: 'not_open', feedStalenessMs: null });
    expect(healthy(details, {})).toBe(false);
  });
});
