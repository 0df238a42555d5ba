import { startEmbeddedPostgres } from '@tessera/embedded-postgres';
import type { EmbeddedPostgres } from '@tessera/embedded-postgres';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { bearerLogin, bearerSignup, REAL_BACKENDS, startDemoApp } from '../support/demo-app';
import type { DemoApp } from '../support/demo-app';
import { eventually, expectStoreUnavailable } from './fault-support';

const PASSWORD = 'correct horse battery';

// Skipped, with the reason printed by the global setup, where no embedded server can start.
const describeEmbedded = process.env.TESSERA_EMBEDDED_UNAVAILABLE ? describe.skip : describe;

/**
 * A PostgreSQL server this test owns (the embedded one), stopped and started again under the
 * running app: the database of the users (and, on the PostgreSQL run, of the sessions) goes
 * away for real, every connection with it, and comes back on the same port and data.
 */
describeEmbedded(`the database restarted under the app (${REAL_BACKENDS}, an embedded server of this test's own)`, () => {
  let dataDir: string;
  let server: EmbeddedPostgres | undefined;
  let port: number;
  let demo: DemoApp;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-fault-pg-'));
    server = await startEmbeddedPostgres({ dataDir, database: 'tessera' });
    port = Number(new URL(server.url).port);
    demo = await startDemoApp({ DATABASE_URL: server.url, STORE_TIMEOUT: '1s', REVOCATION_MODE: 'strict' });
  }, 120_000);

  afterAll(async () => {
    await demo?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    const cluster = server?.dataDir;
    await rm(dataDir, { recursive: true, force: true });
    // As root with dataDir out of the postgres user's reach, the cluster lives elsewhere.
    if (cluster && cluster !== dataDir) await rm(cluster, { recursive: true, force: true });
  }, 60_000);

  it('while it is down: 503 store_unavailable, never 500 or 401; after it is back: the same sessions work, without a restart of the app', async () => {
    const user = await bearerSignup(demo.url, 'fault-restart', PASSWORD);
    const me = () => request(demo.url).get('/api/me').set('Authorization', `Bearer ${user.accessToken}`);
    expect((await me()).status).toBe(200);

    await server?.stop();
    server = undefined;
    expectStoreUnavailable(await bearerLogin(demo.url, user.email, PASSWORD));
    expectStoreUnavailable(await request(demo.url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: user.refreshToken }));
    const profile = await me();
    if (demo.store === 'postgres') expectStoreUnavailable(profile);
    else expect(profile.status).toBe(200);

    server = await startEmbeddedPostgres({ dataDir, database: 'tessera', port });
    expect((await eventually(() => me(), (response) => response.status === 200, 30_000)).status).toBe(200);
    expect((await eventually(() => bearerLogin(demo.url, user.email, PASSWORD), (response) => response.status === 200)).status).toBe(200);
    const refreshed = await request(demo.url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: user.refreshToken });
    expect(refreshed.status).toBe(200);
    expect((await request(demo.url).get('/health')).status).toBe(200);
  }, 120_000);
});
