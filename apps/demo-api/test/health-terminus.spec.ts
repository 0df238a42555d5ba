import request from 'supertest';
import { REAL_BACKENDS, startDemoApp, testSessionStore } from './support/demo-app';
import type { DemoApp } from './support/demo-app';
import { eventually, privateStore } from './support/private-store';
import type { PrivateStore } from './support/private-store';

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
