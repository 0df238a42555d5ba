import { Logger } from '@nestjs/common';
import type { TcpProxy } from '@tessera/testing-support';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { AuditTrailService } from '../../src/app/audit/audit-trail.service';
import { bearerLogin, bearerRefresh, bearerSignup, REAL_BACKENDS, startDemoApp, uniqueEmail } from '../support/demo-app';
import type { BearerLogin, DemoApp } from '../support/demo-app';
import { eventually, expectStoreUnavailable, postgresProxy, testDatabaseUrl } from './fault-support';

const PASSWORD = 'correct horse battery';
const STORE_TIMEOUT_MS = 1_000;

// Two instances behind one proxy to PostgreSQL (the users, the login counters and the audit
// trail; on the PostgreSQL run the sessions too): one strict, one cached. The faults are real:
// the proxy closes every connection, or holds them open with nothing flowing.
describe(`the user database unreachable (${REAL_BACKENDS}, a proxy cut or stalled)`, () => {
  let proxy: TcpProxy;
  let strict: DemoApp;
  let cached: DemoApp;
  let db: Client;

  beforeAll(async () => {
    const proxied = await postgresProxy();
    proxy = proxied.proxy;
    // One deployment: both instances share the secrets (a token of one is good on the other).
    const env = {
      DATABASE_URL: proxied.url,
      STORE_TIMEOUT: `${STORE_TIMEOUT_MS}ms`,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      SESSION_SECRET: randomBytes(32).toString('base64url'),
    };
    strict = await startDemoApp({ ...env, REVOCATION_MODE: 'strict' });
    cached = await startDemoApp({ ...env, REVOCATION_MODE: 'cached' });
    db = new Client({ connectionString: testDatabaseUrl().toString() });
    await db.connect();
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    proxy?.restore();
    await strict?.close().catch(() => undefined);
    await cached?.close().catch(() => undefined);
    await proxy?.close();
    await db?.end();
  });

  afterEach(() => proxy.restore());

  const me = (app: DemoApp, session: BearerLogin) => request(app.url).get('/api/me').set('Authorization', `Bearer ${session.accessToken}`);
  const sessions = (app: DemoApp, session: BearerLogin) =>
    request(app.url).get('/auth/sessions').set('Authorization', `Bearer ${session.accessToken}`);

  it('cut: login, register, refresh, strict checks and a profile not cached answer 503 store_unavailable (never 401, never 500); cached requests keep working; all recover', async () => {
    // alice: strict instance (her profile is cached there). bob: logged in on the cached
    // instance (cached there). carol: logged in on the strict instance, her token then used on
    // the cached instance, which has never read her profile.
    const alice = await bearerSignup(strict.url, 'fault-alice', PASSWORD);
    const bob = await bearerSignup(strict.url, 'fault-bob', PASSWORD);
    const bobOnCached = { ...bob, ...(await bearerLogin(cached.url, bob.email, PASSWORD).expect(200)).body } as BearerLogin;
    const carol = await bearerSignup(strict.url, 'fault-carol', PASSWORD);

    proxy.cut();
    expectStoreUnavailable(await bearerLogin(strict.url, alice.email, PASSWORD));
    expectStoreUnavailable(await bearerLogin(cached.url, bob.email, 'not the password'));
    expectStoreUnavailable(
      await request(strict.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email: uniqueEmail('fault-new'), password: PASSWORD }),
    );
    // The refresh needs the user (resolveUser) and, on PostgreSQL, the session.
    expectStoreUnavailable(await bearerRefresh(cached.url, bobOnCached.refreshToken));
    // cached mode: the access token alone; bob's profile is cached on this instance.
    expect((await me(cached, bobOnCached)).status).toBe(200);
    // A profile this instance never read: the email is not in the token, so 503 (never 401).
    expectStoreUnavailable(await me(cached, carol));
    // A route that checks the password reads the user: 503, never 401.
    const bearer = (path: string, body: object) =>
      request(cached.url).post(path).set('X-Auth-Mode', 'bearer').set('Authorization', `Bearer ${bobOnCached.accessToken}`).send(body);
    expectStoreUnavailable(await bearer('/api/me/password', { currentPassword: PASSWORD, newPassword: 'another horse battery' }));
    if (strict.store === 'postgres') {
      // strict mode reads the session in the database at each request.
      expectStoreUnavailable(await me(strict, alice));
      expectStoreUnavailable(await sessions(strict, alice));
      expectStoreUnavailable(await request(strict.url).post('/auth/logout').set('X-Auth-Mode', 'bearer').set('Authorization', `Bearer ${alice.accessToken}`));
    } else {
      // On Redis the sessions are elsewhere: strict checks go on; alice's profile is cached.
      expect((await me(strict, alice)).status).toBe(200);
      expect((await sessions(strict, alice)).status).toBe(200);
    }

    proxy.restore();
    expect((await eventually(() => bearerLogin(strict.url, alice.email, PASSWORD), (response) => response.status === 200)).status).toBe(200);
    expect((await eventually(() => me(cached, carol), (response) => response.status === 200)).body.email).toBe(carol.email);
    // The refresh token refused during the outage was not used up: it still rotates.
    expect((await eventually(() => bearerRefresh(cached.url, bobOnCached.refreshToken), (response) => response.status === 200)).status).toBe(200);
    expect((await me(strict, alice)).status).toBe(200);
  });

  it('stall: a hung database answers 503 store_unavailable after STORE_TIMEOUT, not later, then recovers', async () => {
    const dave = await bearerSignup(strict.url, 'fault-dave', PASSWORD);
    proxy.stall();
    const started = Date.now();
    const [login, profile] = await Promise.all([bearerLogin(strict.url, dave.email, PASSWORD), me(cached, { ...dave, accessToken: dave.accessToken })]);
    const elapsed = Date.now() - started;
    expectStoreUnavailable(login);
    // dave's profile was read on the strict instance only: the cached one must ask the database.
    expectStoreUnavailable(profile);
    // Bounded: at least the timeout (nothing answered), at most a checkout and a statement
    // timeout plus generous slack for a slow machine.
    expect(elapsed).toBeGreaterThanOrEqual(STORE_TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(2 * STORE_TIMEOUT_MS + 8_000);
    if (strict.store === 'postgres') {
      const started2 = Date.now();
      expectStoreUnavailable(await me(strict, dave));
      expect(Date.now() - started2).toBeLessThan(STORE_TIMEOUT_MS + 8_000);
    }
    proxy.restore();
    expect((await eventually(() => bearerLogin(strict.url, dave.email, PASSWORD), (response) => response.status === 200)).status).toBe(200);
    expect((await eventually(() => me(cached, dave), (response) => response.status === 200)).status).toBe(200);
  });

  it('audit events during an outage are buffered (bounded), written after recovery; those dropped are counted and logged by count', async () => {
    const audit = strict.app.get(AuditTrailService);
    await audit.flush();
    const before = audit.stats();
    expect(before).toMatchObject({ buffered: 0, waitingForDatabase: false });
    audit.bufferLimit = 5;
    const warnings = jest.spyOn(Logger.prototype, 'warn');
    // csrf.refused needs no database: a cross-site login is refused by the CSRF guard.
    const userAgent = `fault-audit-${randomBytes(6).toString('hex')}`;
    const refuse = (index: number) =>
      request(strict.url).post('/auth/login').set('Origin', 'http://evil.example').set('User-Agent', `${userAgent}-${index}`).send({ email: 'x@example.com', password: PASSWORD });

    proxy.cut();
    for (let index = 0; index < 8; index += 1) expect((await refuse(index)).status).toBe(403);
    await eventually(async () => audit.stats(), (stats) => stats.waitingForDatabase, 10_000);
    expect(audit.stats()).toMatchObject({ buffered: 5, dropped: before.dropped + 3, waitingForDatabase: true });
    // Counted and logged, never the contents.
    const logged = () => warnings.mock.calls.map((call) => String(call[0]));
    expect(logged().some((line) => /Audit buffer full \(5 events\)/.test(line))).toBe(true);
    expect(logged().join('\n')).not.toContain(userAgent);

    proxy.restore();
    // The retry timer writes them after the database returns (no flush from the test).
    const after = await eventually(async () => audit.stats(), (stats) => !stats.waitingForDatabase && stats.buffered === 0, 20_000);
    expect(after).toMatchObject({ buffered: 0, waitingForDatabase: false, failed: before.failed });
    const rows = await db.query<{ user_agent: string }>(
      `SELECT user_agent FROM auth_events WHERE type = 'csrf.refused' AND user_agent LIKE $1 ORDER BY user_agent`,
      [`${userAgent}-%`],
    );
    // The newest five, in order; the three oldest were dropped.
    expect(rows.rows.map((row) => row.user_agent)).toEqual([3, 4, 5, 6, 7].map((index) => `${userAgent}-${index}`));
    expect(logged().some((line) => /^3 audit rows were dropped while the database was unreachable/.test(line))).toBe(true);
    audit.bufferLimit = 10_000;
  });

  it('audit events an instance shutting down during an outage cannot write are counted in the log, never silently lost', async () => {
    const proxied = await postgresProxy();
    const instance = await startDemoApp({ DATABASE_URL: proxied.url, STORE_TIMEOUT: `${STORE_TIMEOUT_MS}ms` });
    const errors = jest.spyOn(Logger.prototype, 'error');
    try {
      proxied.proxy.cut();
      for (let index = 0; index < 3; index += 1) {
        expect((await request(instance.url).post('/auth/login').set('Origin', 'http://evil.example').send({ email: 'x@example.com', password: PASSWORD })).status).toBe(403);
      }
      const audit = instance.app.get(AuditTrailService);
      // Once a write has failed, the three wait in the buffer for the database.
      expect(await eventually(async () => audit.stats(), (stats) => stats.waitingForDatabase, 10_000)).toMatchObject({ buffered: 3 });
      await instance.close();
      expect(errors.mock.calls.map((call) => String(call[0]))).toContain(
        '3 audit events could not be written before shutdown (database unreachable); their log lines were written',
      );
    } finally {
      proxied.proxy.restore();
      await proxied.proxy.close();
    }
  });
});
