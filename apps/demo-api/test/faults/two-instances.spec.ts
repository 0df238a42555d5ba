import { SessionStore } from '@tessera/session';
import { startTcpProxy } from '@tessera/testing-support';
import type { TcpProxy } from '@tessera/testing-support';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { bearerLogin, bearerSignup, REAL_BACKENDS, startDemoApp } from '../support/demo-app';
import type { BearerLogin, DemoApp } from '../support/demo-app';
import { testRedisUrl } from '../support/test-store';
import { eventually, expectStoreUnavailable, testDatabaseUrl } from './fault-support';

const PASSWORD = 'correct horse battery';

/**
 * Two instances of one deployment on a database of this file's own (so that terminating
 * "the app's connections" touches no other test). Instance A reaches its session store
 * directly; instance B through a proxy the test cuts: PostgreSQL on the PostgreSQL run, Redis
 * on the Redis run (the store and its revocation feed are what B loses).
 */
describe(`two instances, one losing its session store (${REAL_BACKENDS}): revocations are honoured, everything recovers`, () => {
  const database = `tessera_faults_${process.pid}_${randomBytes(3).toString('hex')}`;
  let admin: Client;
  let proxy: TcpProxy;
  let a: DemoApp;
  let b: DemoApp;

  beforeAll(async () => {
    const server = testDatabaseUrl();
    admin = new Client({ connectionString: server.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const own = new URL(server.toString());
    own.pathname = `/${database}`;
    const shared = {
      DATABASE_URL: own.toString(),
      STORE_TIMEOUT: '1s',
      REVOCATION_MODE: 'cached',
      JWT_SECRET: randomBytes(32).toString('base64url'),
      SESSION_SECRET: randomBytes(32).toString('base64url'),
    };
    a = await startDemoApp(shared);
    if (a.store === 'redis') {
      const redis = new URL(testRedisUrl());
      proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
      b = await startDemoApp({ ...shared, REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    } else {
      proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
      const proxied = new URL(own.toString());
      proxied.hostname = '127.0.0.1';
      proxied.port = String(proxy.port);
      b = await startDemoApp({ ...shared, DATABASE_URL: proxied.toString() });
    }
  });

  afterAll(async () => {
    proxy?.restore();
    await a?.close().catch(() => undefined);
    await b?.close().catch(() => undefined);
    await proxy?.close();
    await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin?.end();
  });

  afterEach(() => proxy.restore());

  const me = (app: DemoApp, session: BearerLogin) => request(app.url).get('/api/me').set('Authorization', `Bearer ${session.accessToken}`);
  const logout = (app: DemoApp, session: BearerLogin) =>
    request(app.url).post('/auth/logout').set('X-Auth-Mode', 'bearer').set('Authorization', `Bearer ${session.accessToken}`);
  /** A login on `app` whose profile `other` has read too (so `/api/me` answers from its cache). */
  const signupOnBoth = async (label: string, app: DemoApp, other: DemoApp): Promise<BearerLogin> => {
    const user = await bearerSignup(app.url, label, PASSWORD);
    await bearerLogin(other.url, user.email, PASSWORD).expect(200);
    return user;
  };

  it('a logout acknowledged with 204 just before the cut is honoured on the other instance as soon as its feed resyncs', async () => {
    const user = await signupOnBoth('fault-logout', a, b);
    expect((await me(b, user)).status).toBe(200);
    expect((await logout(a, user)).status).toBe(204);
    proxy.cut();
    proxy.restore();
    const refused = await eventually(() => me(b, user), (response) => response.status === 401);
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'session_revoked' });
  });

  it('a revocation committed during the other instance\'s feed outage is honoured once its feed resyncs; its own calls answer 503 meanwhile', async () => {
    const user = await signupOnBoth('fault-feed', a, b);
    expect((await me(b, user)).status).toBe(200);
    proxy.cut();
    // B cannot reach its store: its session routes answer 503, never 500 or 401.
    expectStoreUnavailable(await request(b.url).get('/auth/sessions').set('Authorization', `Bearer ${user.accessToken}`));
    expectStoreUnavailable(await logout(b, user));
    // A revokes while B hears nothing: the notification is lost for B.
    expect((await logout(a, user)).status).toBe(204);
    proxy.restore();
    const refused = await eventually(() => me(b, user), (response) => response.status === 401);
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 401, code: 'session_revoked' });
    // And B's own store calls work again.
    const other = await signupOnBoth('fault-feed-after', a, b);
    expect((await eventually(() => request(b.url).get('/auth/sessions').set('Authorization', `Bearer ${other.accessToken}`), (response) => response.status === 200)).status).toBe(200);
  });

  it('the cleanup lock: a holder whose connection dies loses it, and another instance takes it after recovery', async () => {
    const storeOfB = b.app.get<SessionStore>(SessionStore);
    const storeOfA = a.app.get<SessionStore>(SessionStore);
    const lock = await storeOfB.acquireCleanupLock();
    if (!lock) throw new Error('B could not take the free cleanup lock');
    expect(await storeOfA.acquireCleanupLock()).toBeNull();
    if (a.store === 'redis') {
      // On Redis the lock is a key with a TTL (cleanupLockTtl): a dead holder's lock lapses
      // after it, which is too long for a test; the holder's release after the outage still works.
      proxy.cut();
      proxy.restore();
      await eventually(
        () => lock.release().then(() => true, () => false),
        (released) => released,
      );
    } else {
      // The lock is held by B's connection: cutting it lets PostgreSQL release it.
      proxy.cut();
      await expect(lock.release()).rejects.toBeDefined();
      proxy.restore();
    }
    const taken = await eventually(() => storeOfA.acquireCleanupLock(), (held) => held !== null, 10_000);
    if (!taken) throw new Error('A never took the cleanup lock after the outage');
    await taken.release();
    // B can take it again too.
    const again = await eventually(() => storeOfB.acquireCleanupLock().catch(() => null), (held) => held !== null);
    if (!again) throw new Error('B never took the cleanup lock again');
    await again.release();
  });

  it('pg_terminate_backend of every connection of the app: the next requests recover without a restart, prepared statements included', async () => {
    const user = await signupOnBoth('fault-terminate', a, b);
    // strict-like reads through the store's prepared statements: the sessions listing and a refresh.
    const list = (app: DemoApp) => request(app.url).get('/auth/sessions').set('Authorization', `Bearer ${user.accessToken}`);
    expect((await list(a)).status).toBe(200);
    expect((await list(b)).status).toBe(200);
    const terminated = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
      [database],
    );
    expect(terminated.rowCount).toBeGreaterThan(0);
    for (const app of [a, b]) {
      const answers: number[] = [];
      const listed = await eventually(
        async () => {
          const response = await list(app);
          answers.push(response.status);
          return response;
        },
        (response) => response.status === 200,
      );
      expect(listed.status).toBe(200);
      // Until then, only the designed 503 (a dead pooled connection), never a 500 or a 401.
      for (const status of answers.slice(0, -1)) expect(status).toBe(503);
    }
    // A refresh rotates through the named statement again, and a login works.
    const refreshed = await request(a.url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: user.refreshToken });
    expect(refreshed.status).toBe(200);
    expect((await bearerLogin(b.url, user.email, PASSWORD)).status).toBe(200);
  });
});
