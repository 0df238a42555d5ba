import { Client } from 'pg';
import request from 'supertest';
import { REAL_BACKENDS, startDemoApp, testSessionStore } from './support/demo-app';
import type { DemoApp } from './support/demo-app';
import { startTcpProxy } from '@tessera/testing-support';
import { testRedisUrl } from './support/test-store';

/** A session store of this test's own, that it can take down and bring back. */
interface PrivateStore {
  /** What startDemoApp needs to put the app on it. */
  env: Record<string, string>;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The run's backend, private to this test: on PostgreSQL a database of its own (the sessions
 * and the users are both there: its outage is the database's), closed to connections; on
 * Redis the shared server behind a proxy that cuts every connection (PostgreSQL stays up).
 */
async function privateStore(): Promise<PrivateStore> {
  if (testSessionStore() === 'redis') {
    const server = new URL(testRedisUrl());
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 6379) });
    return {
      env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` },
      down: async () => proxy.cut(),
      up: async () => proxy.restore(),
      close: () => proxy.close(),
    };
  }
  const base = new URL(String(process.env.TESSERA_TEST_DATABASE_URL));
  const database = `tessera_outage_${process.pid}_${Date.now()}`;
  const admin = new Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(base.toString());
  url.pathname = `/${database}`;
  return {
    env: { DATABASE_URL: url.toString() },
    down: async () => {
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
    },
    up: async () => {
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    },
    close: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Polls `probe` until it answers `status`, for at most 20 s (reconnecting takes a backoff or two). */
async function eventually(probe: () => Promise<request.Response>, status: number): Promise<request.Response> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await probe();
    if (response.status === status || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Issue 19, item 4: terminus liveness and readiness beside the demo's own /health.
describe(`demo-api: /health/live and /health/ready (${REAL_BACKENDS})`, () => {
  let store: PrivateStore;
  let demo: DemoApp;

  beforeAll(async () => {
    store = await privateStore();
    demo = await startDemoApp(store.env);
  });

  afterAll(async () => {
    await store?.up().catch(() => undefined);
    await demo?.close().catch(() => undefined);
    await store?.close();
  });

  it('answers liveness without dependencies, and readiness with the database, the store and its feed; both documented', async () => {
    expect((await request(demo.url).get('/health/live').expect(200)).body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
    const ready = await request(demo.url).get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      error: {},
      info: {
        database: { status: 'up' },
        sessions: { status: 'up', store: 'up', feed: 'connected', feedStalenessMs: expect.any(Number) },
      },
    });
    // The demo's own contract is unchanged.
    expect((await request(demo.url).get('/health').expect(200)).body).toEqual({
      status: 'ok',
      database: 'up',
      store: 'up',
      storeType: testSessionStore(),
    });
    const paths = (await request(demo.url).get('/docs-json').expect(200)).body.paths;
    expect(Object.keys(paths['/health/live'])).toEqual(['get']);
    expect(Object.keys(paths['/health/ready'].get.responses).sort()).toEqual(['200', '503']);
  });

  it('is not ready (503 not_ready, naming what is down) while the store is down, still live, and ready again after', async () => {
    await store.down();
    const notReady = await eventually(() => request(demo.url).get('/health/ready'), 503);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ status: 'error', code: 'not_ready', error: { sessions: { status: 'down', store: 'down' } } });
    if (testSessionStore() === 'postgres') expect(notReady.body.error.database).toMatchObject({ status: 'down' });
    else expect(notReady.body.info.database).toMatchObject({ status: 'up' });
    await request(demo.url).get('/health/live').expect(200);

    await store.up();
    const ready = await eventually(() => request(demo.url).get('/health/ready'), 200);
    expect(ready.status).toBe(200);
    expect(ready.body.info.sessions).toMatchObject({ status: 'up', feed: 'connected' });
  });
});
