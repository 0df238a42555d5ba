import type { LoggerService } from '@nestjs/common';
import { SessionCleanupService, SessionStore } from '@tessera/session';
import type { SessionRecord } from '@tessera/session';
import { FakeClock } from '@tessera/session/testing';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { createClient } from 'redis';
import request from 'supertest';
import { AuditTrailService } from '../src/app/audit/audit-trail.service';
import { startApp } from '../src/app/bootstrap';
import { loadConfig } from '../src/app/config/app-config';
import { startDemoApp, testSessionStore, uniqueEmail, REAL_BACKENDS } from './support/demo-app';
import { testRedisUrl, testStoreEnv } from './support/test-store';
import { testPlatformEnv } from './support/test-platform';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
/** The rows the cleanup job must delete; `npm run bench` inserts the same ones. */
const OLD_SESSIONS_SQL = readFileSync(join(__dirname, '../../../tools/testing/old-sessions.sql'), 'utf8');

function databaseUrl(): string {
  const url = process.env.TESSERA_TEST_DATABASE_URL;
  if (!url) throw new Error('TESSERA_TEST_DATABASE_URL is not set');
  return url;
}

async function bearerLogin(url: string, email: string, password = PASSWORD) {
  const login = await request(url)
    .post('/auth/login')
    .set('X-Auth-Mode', 'bearer')
    .send({ email, password })
    .expect(200);
  return login.body as { accessToken: string; refreshToken: string; session: { id: string }; user: { id: string } };
}

const DAY = 24 * 60 * 60_000;

/**
 * How many sessions the cleanup gets to delete: on PostgreSQL 100,000 rows (one INSERT);
 * on Redis 20,000, written one by one through the store (Redis has no bulk insert of
 * sessions; their key expiry does most of the deleting there, the cleanup prunes the
 * indexes and whatever is left).
 */
const OLD_SESSIONS = testSessionStore() === 'postgres' ? 100_000 : 20_000;

/** Sessions written straight into the run's store, and counted there (ended ones included). */
interface StoreFixture {
  /** Inserts `count` sessions that expired (half) or were revoked (half) long before the retention; returns their user id. */
  insertOld(count: number): Promise<string>;
  /** Inserts two sessions that ended within the 7-day retention (one expired, one revoked); returns their user id. */
  insertRecent(): Promise<string>;
  /** How many sessions of `userId` the store still holds, ended ones included. */
  countOf(userId: string): Promise<number>;
  close(): Promise<void>;
}

/** A session record with these times (ms since the epoch), as a store holds it. */
function oldRecord(id: string, userId: string, times: { seen: number; expires: number; revoked?: number }): SessionRecord {
  return {
    id,
    userId,
    roles: ['user'],
    claims: {},
    refreshHash: randomBytes(32).toString('base64url'),
    previousRefreshHash: null,
    generation: 0,
    rotatedAt: null,
    createdAt: new Date(times.seen),
    authenticatedAt: new Date(times.seen),
    lastSeenAt: new Date(times.seen),
    expiresAt: new Date(times.expires),
    absoluteExpiresAt: new Date(Math.max(times.expires, times.seen + 30 * DAY)),
    revokedAt: times.revoked === undefined ? null : new Date(times.revoked),
    revokedReason: times.revoked === undefined ? null : 'logout',
    userAgent: null,
    ip: null,
  };
}

async function storeFixture(demo: DemoApp): Promise<StoreFixture> {
  const db = new Client({ connectionString: databaseUrl() });
  await db.connect();
  if (demo.store === 'postgres') {
    return {
      insertOld: async (count) => {
        const tag = `old-${randomBytes(4).toString('hex')}`;
        await db.query(OLD_SESSIONS_SQL, [tag, count]);
        return tag;
      },
      insertRecent: async () => {
        const tag = `recent-${randomBytes(4).toString('hex')}`;
        await db.query(
          `INSERT INTO tessera_sessions (id, user_id, refresh_hash, created_at, last_seen_at, expires_at, absolute_expires_at, revoked_at, revoked_reason)
           SELECT $1 || '-' || n, $1, md5(n::text), now() - interval '3 days', now() - interval '3 days',
                  now() - interval '1 day', now() + interval '1 day', CASE WHEN n = 1 THEN now() - interval '6 days' END,
                  CASE WHEN n = 1 THEN 'logout' END
             FROM generate_series(1, 2) AS n`,
          [tag],
        );
        return tag;
      },
      countOf: async (userId) => (await db.query('SELECT count(*)::int AS n FROM tessera_sessions WHERE user_id = $1', [userId])).rows[0].n,
      close: () => db.end(),
    };
  }
  // Redis: written through the app's SessionStore (as old-sessions.sql does in SQL), counted in the store's
  // end-time indexes (`{<prefix>:<bucket>}:x`, members ["id","userId"]; the README's key layout), which
  // hold every session until the cleanup deletes it, even one Redis already expired.
  const store = demo.app.get<SessionStore>(SessionStore);
  const redis = createClient({ url: testRedisUrl() });
  redis.on('error', () => undefined);
  await redis.connect();
  const prefix = testStoreEnv().REDIS_KEY_PREFIX;
  const now = () => demo.clock.now().getTime();
  const insert = async (tag: string, records: SessionRecord[]) => {
    // In chunks: node-redis pipelines each chunk's calls.
    for (let i = 0; i < records.length; i += 1_000) await Promise.all(records.slice(i, i + 1_000).map((record) => store.create(record)));
    return tag;
  };
  return {
    insertOld: (count) => {
      const tag = `old-${randomBytes(4).toString('hex')}`;
      const at = now();
      return insert(
        tag,
        Array.from({ length: count }, (_, n) =>
          oldRecord(`${tag}-${n}`, tag, n % 2 === 0 ? { seen: at - 60 * DAY, expires: at - 30 * DAY } : { seen: at - 60 * DAY, expires: at + DAY, revoked: at - 8 * DAY }),
        ),
      );
    },
    insertRecent: () => {
      const tag = `recent-${randomBytes(4).toString('hex')}`;
      const at = now();
      return insert(tag, [
        oldRecord(`${tag}-1`, tag, { seen: at - 3 * DAY, expires: at - DAY }),
        oldRecord(`${tag}-2`, tag, { seen: at - 3 * DAY, expires: at + DAY, revoked: at - 6 * DAY }),
      ]);
    },
    countOf: async (userId) => {
      let count = 0;
      for (let bucket = 0; bucket < 32; bucket += 1) {
        const members = await redis.zRange(`{${prefix}:${bucket}}:x`, 0, -1);
        count += members.filter((member) => (JSON.parse(member) as [string, string])[1] === userId).length;
      }
      return count;
    },
    close: async () => {
      await redis.close();
      await db.end();
    },
  };
}

describe(`session cleanup job (${REAL_BACKENDS})`, () => {
  let a: DemoApp;
  let fixture: StoreFixture;

  beforeAll(async () => {
    a = await startDemoApp({ CLEANUP_CRON: 'off' });
    fixture = await storeFixture(a);
  });

  afterAll(async () => {
    await fixture?.close();
    await a?.close();
  });

  it(`deletes ${OLD_SESSIONS.toLocaleString('en')} expired or revoked sessions in one run, no live one, while refreshes keep succeeding`, async () => {
    const tag = await fixture.insertOld(OLD_SESSIONS);
    // Within the 7-day retention: kept.
    const recentTag = await fixture.insertRecent();
    const email = uniqueEmail('cleanup');
    await request(a.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
    const live = await Promise.all(Array.from({ length: 4 }, () => bearerLogin(a.url, email)));

    let refreshing = true;
    let refreshes = 0;
    const failures: number[] = [];
    const loops = live.map(async (session) => {
      let token = session.refreshToken;
      while (refreshing) {
        const response = await request(a.url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: token });
        if (response.status === 200) {
          token = response.body.refreshToken;
          refreshes += 1;
        } else {
          failures.push(response.status);
        }
      }
    });

    const started = performance.now();
    const result = await a.app.get(SessionCleanupService).run();
    const elapsed = performance.now() - started;
    refreshing = false;
    await Promise.all(loops);

    process.stdout.write(
      `cleanup (${a.store}): deleted ${result.deleted} sessions in ${result.durationMs} ms (${result.batches} batches, ` +
        `${Math.round(result.deleted / (result.durationMs / 1000))} rows/s) with ${refreshes} refreshes alongside\n`,
    );
    expect(result.ran).toBe(true);
    expect(result.truncated).toBe(false);
    expect(result.deleted).toBeGreaterThanOrEqual(OLD_SESSIONS);
    expect(elapsed).toBeGreaterThanOrEqual(result.durationMs - 1);
    expect(failures).toEqual([]);
    expect(refreshes).toBeGreaterThan(0);
    expect(await fixture.countOf(tag)).toBe(0);
    expect(await fixture.countOf(recentTag)).toBe(2);
    const store = a.app.get<SessionStore>(SessionStore);
    for (const session of live) expect((await store.findById(session.session.id))?.revokedAt).toBeNull();
  });

  it('lets exactly one of two instances run at the same moment', async () => {
    const b = await startDemoApp({ CLEANUP_CRON: 'off', JWT_SECRET: a.jwtSecret, SESSION_SECRET: a.sessionSecret });
    try {
      const tag = await fixture.insertOld(OLD_SESSIONS / 4);
      const results = await Promise.all([
        a.app.get(SessionCleanupService).run(),
        b.app.get(SessionCleanupService).run(),
      ]);
      expect(results.filter((result) => result.ran)).toHaveLength(1);
      expect(results.filter((result) => !result.ran)).toEqual([
        { ran: false, deleted: 0, batches: 0, durationMs: expect.any(Number), truncated: false },
      ]);
      expect(await fixture.countOf(tag)).toBe(0);
      // The lock is released: the other instance can run now.
      expect((await b.app.get(SessionCleanupService).run()).ran).toBe(true);
    } finally {
      await b.close();
    }
  });

  it('is registered on the app scheduler from CLEANUP_CRON, and so is the pruning of ended login-attempt windows on PostgreSQL', async () => {
    const c = await startDemoApp({ CLEANUP_CRON: '*/5 * * * *' });
    try {
      const { SchedulerRegistry } = await import('@nestjs/schedule');
      const scheduler = c.app.get(SchedulerRegistry);
      expect(scheduler.getCronJob('tessera-session-cleanup').cronTime.source).toBe('*/5 * * * *');
      // On Redis the windows expire by themselves: no job.
      expect(scheduler.doesExist('cron', 'demo-login-attempt-pruning')).toBe(c.store === 'postgres');
      if (c.store === 'postgres') expect(scheduler.getCronJob('demo-login-attempt-pruning').cronTime.source).toBe('*/5 * * * *');
    } finally {
      await c.close();
    }
  });
});

class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown, ...rest: unknown[]) {
    this.lines.push(JSON.stringify([message, ...rest]));
  }
  error(message: unknown, ...rest: unknown[]) {
    this.log(message, ...rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.log(message, ...rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.log(message, ...rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.log(message, ...rest);
  }
}

describe('audit trail: every audited action, and no secret anywhere', () => {
  it('records each action in auth_events and the log without a token, password, secret or raw session id', async () => {
    const adminEmail = uniqueEmail('audit-admin');
    const jwtSecret = randomBytes(32).toString('base64url');
    const sessionSecret = randomBytes(32).toString('base64url');
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl(),
      PORT: '0',
      JWT_SECRET: jwtSecret,
      SESSION_SECRET: sessionSecret,
      ADMIN_EMAILS: adminEmail,
      MAX_SESSIONS_PER_USER: '2',
      CLEANUP_CRON: 'off',
      ALLOWED_ORIGINS: 'http://localhost:3000',
      ...testStoreEnv(),
      ...testPlatformEnv(),
    });
    const logger = new CapturingLogger();
    const clock = new FakeClock(Date.now());
    const app = await startApp(config, { clock, logger });
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const db = new Client({ connectionString: databaseUrl() });
    await db.connect();
    const secrets: string[] = [jwtSecret, sessionSecret, PASSWORD, 'wrong password 123'];
    const sessionIds: string[] = [];
    const remember = <T extends { accessToken: string; refreshToken: string; session: { id: string } }>(login: T): T => {
      secrets.push(login.accessToken, login.refreshToken);
      sessionIds.push(login.session.id);
      return login;
    };
    const startedAt = new Date(clock.now().getTime() - 1_000);
    // Other spec files write anonymous events (no user) to the same table at the same time:
    // this test's own anonymous requests carry a user agent of their own.
    const anonymousAgent = `audit-spec-${randomBytes(6).toString('hex')}`;
    try {
      const email = uniqueEmail('audit');
      const user = (await request(url).post('/auth/register').send({ email, password: PASSWORD }).set('X-Auth-Mode', 'bearer').expect(201)).body;
      await request(url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email: adminEmail, password: PASSWORD }).expect(201);

      // login failed, login succeeded
      await request(url)
        .post('/auth/login')
        .set('X-Auth-Mode', 'bearer')
        .set('User-Agent', anonymousAgent)
        .send({ email, password: 'wrong password 123' })
        .expect(401);
      const first = remember(await bearerLogin(url, email));
      // refresh, then refresh token reused (after the grace window)
      const refreshed = remember(
        (await request(url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: first.refreshToken }).expect(200))
          .body,
      );
      expect(refreshed.session.id).toBe(first.session.id);
      clock.advance(11_000);
      await request(url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: first.refreshToken }).expect(401);
      // logout
      const second = remember(await bearerLogin(url, email));
      await request(url).post('/auth/logout').set('Authorization', `Bearer ${second.accessToken}`).expect(204);
      // eviction (limit 2), then logout-all
      remember(await bearerLogin(url, email));
      remember(await bearerLogin(url, email));
      clock.advance(1_000);
      const latest = remember(await bearerLogin(url, email));
      await request(url).post('/auth/logout-all').set('Authorization', `Bearer ${latest.accessToken}`).send({}).expect(204);
      // session revoked by an admin
      const victim = remember(await bearerLogin(url, email));
      const admin = remember(await bearerLogin(url, adminEmail));
      await request(url)
        .delete(`/api/admin/users/${user.id}/sessions`)
        .set('Authorization', `Bearer ${admin.accessToken}`)
        .expect(204);
      expect(victim.session.id).toBeDefined();
      // CSRF refused: a cookie-mode POST with a forged Origin and no token
      const csrf = await request(url).get('/auth/csrf').expect(200);
      secrets.push(csrf.body.csrfToken);
      await request(url)
        .post('/auth/login')
        .set('User-Agent', anonymousAgent)
        .set('Origin', 'http://evil.example')
        .set('Cookie', `__Host-tessera-csrf=${csrf.body.csrfToken}`)
        .set('X-CSRF-Token', csrf.body.csrfToken)
        .send({ email, password: PASSWORD })
        .expect(403);

      await app.get(AuditTrailService).flush();
      const rows = (
        await db.query(
          `SELECT type, outcome, user_id, session_fingerprint, reason, ip, user_agent, created_at
             FROM auth_events WHERE created_at >= $1 AND (user_id = ANY($2) OR (user_id IS NULL AND user_agent = $3))
            ORDER BY id`,
          [startedAt, [user.id, admin.user.id], anonymousAgent],
        )
      ).rows as Array<Record<string, unknown>>;
      const seen = (type: string, reason?: string) =>
        rows.some((row) => row.type === type && (reason === undefined || row.reason === reason));
      expect(seen('login.failed', 'invalid_credentials')).toBe(true);
      expect(seen('session.created')).toBe(true);
      expect(seen('session.refreshed')).toBe(true);
      expect(seen('refresh_token.reused')).toBe(true);
      expect(seen('session.revoked', 'logout')).toBe(true);
      expect(seen('session.evicted')).toBe(true);
      expect(seen('session.revoked', 'logout_all')).toBe(true);
      expect(seen('session.revoked', 'admin')).toBe(true);
      expect(seen('csrf.refused', 'origin_not_allowed')).toBe(true);
      const failures = rows.filter((row) => row.outcome === 'failure').map((row) => row.type);
      expect(new Set(failures)).toEqual(new Set(['login.failed', 'refresh_token.reused', 'csrf.refused']));
      for (const row of rows) {
        expect(row.ip).toEqual(expect.any(String));
        expect(row.created_at).toBeInstanceOf(Date);
        if (row.type !== 'login.failed' && row.type !== 'csrf.refused') {
          expect(row.session_fingerprint).toMatch(/^[A-Za-z0-9_-]{16}$/);
        }
      }
      const auditLines = logger.lines.filter((line) => line.includes('"Audit"'));
      expect(auditLines.length).toBeGreaterThanOrEqual(rows.length);

      // The scan: every token, password, secret and raw session id the test handled.
      const everything = `${logger.lines.join('\n')}\n${JSON.stringify(
        (await db.query('SELECT * FROM auth_events WHERE created_at >= $1', [startedAt])).rows,
      )}`;
      for (const secret of [...secrets, ...sessionIds]) {
        expect(everything.includes(secret)).toBe(false);
        // Also the distinctive parts (a JWT's signature, a refresh token's secret).
        const tail = secret.split('.').pop() ?? secret;
        if (tail.length >= 16) expect(everything.includes(tail)).toBe(false);
      }
      expect(sessionIds.length).toBeGreaterThanOrEqual(7);
    } finally {
      await db.end();
      await app.close();
    }
  });
});

