import { HttpStatus } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { SessionClock, SessionStoreUnavailableError } from '@tessera/session';
import { FakeClock } from '@tessera/session/testing';
import { connectSessionRedis } from '@tessera/session-redis';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { testRedisUrl, testSessionStore } from '../../../test/support/test-store';
import { AppConfig, loadConfig } from '../config/app-config';
import { dataSourceOptions, runMigrations } from '../database/database';
import { DemoRedis } from '../redis/demo-redis';
import { IN_FLIGHT_TTL_MS, admits, liveWindow, settled, withReservation } from './attempt-window';
import type { AttemptWindow } from './attempt-window';
import { LoginAttemptStore } from './login-attempt.store';
import type { AttemptClaim, AttemptReservation, AttemptSettlement } from './login-attempt.store';
import { LoginRateLimiter, TooManyLoginAttemptsException } from './login-rate-limiter';
import { PostgresLoginAttemptStore } from './postgres-login-attempt.store';
import { RedisLoginAttemptStore } from './redis-login-attempt.store';

const SECOND = 1_000;
const MINUTE = 60_000;
const WINDOW_MS = 15 * MINUTE;
const LIMIT = 3;

/** A promise settled from outside: a password check still in flight. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Starts an attempt whose password check is `check`; `checking` resolves once the limiter
 * has reserved it and called the check (the stores are asynchronous: only then does it
 * count), and rejects if the attempt was refused instead.
 */
function begin<T>(limiter: LoginRateLimiter, account: string, from: string, check: Promise<T>) {
  let called!: () => void;
  const checking = new Promise<void>((resolve) => (called = resolve));
  const running = limiter.guard(account, from, () => {
    called();
    return check;
  });
  return { running, checking: Promise.race([checking, running.then(() => undefined)]) };
}

/** The rules of attempt-window.ts over a Map: the limiter's logic without a backend (a fake for this unit spec only). */
class MemoryLoginAttemptStore extends LoginAttemptStore {
  readonly windows = new Map<string, AttemptWindow>();

  async reserve(group: string, claims: AttemptClaim[], now: number, windowMs: number): Promise<AttemptReservation> {
    const windows = claims.map(({ key }) => liveWindow(this.windows.get(`${group}:${key}`), now, windowMs));
    const admitted = claims.every(({ rule }, i) => admits(windows[i], rule, now));
    if (admitted) claims.forEach(({ key }, i) => this.windows.set(`${group}:${key}`, withReservation(windows[i], now)));
    return { admitted, windows };
  }

  async settle(group: string, settlements: AttemptSettlement[], now: number, windowMs: number): Promise<void> {
    for (const { key, outcome } of settlements) {
      const after = settled(liveWindow(this.windows.get(`${group}:${key}`), now, windowMs), outcome, now);
      if (after) this.windows.set(`${group}:${key}`, after);
      else this.windows.delete(`${group}:${key}`);
    }
  }

  async prune(): Promise<number> {
    return 0;
  }
}

/** A store and what the tests read of it. */
interface Backend {
  store: LoginAttemptStore;
  /** Every key the backend holds for this spec (PostgreSQL: the whole shared table, whose keys are all hashes). */
  keys(): Promise<string[]>;
  /**
   * Checks that the backend lets go of `keys` once their window ended at `now`:
   * PostgreSQL prunes them; Redis has them expire by themselves (their TTL is checked).
   */
  expectBounded(keys: string[], now: number): Promise<void>;
  close(): Promise<void>;
}

/** The limiter's logic on the Map, then on the run's real backend (PostgreSQL, or Redis in the test-redis run). */
const BACKENDS: Array<[string, (clock: FakeClock, config: AppConfig) => Promise<Backend>]> = [
  [
    'in memory',
    async () => {
      const store = new MemoryLoginAttemptStore();
      return {
        store,
        keys: async () => [...store.windows.keys()],
        // A fake: nothing to bound.
        expectBounded: async () => undefined,
        close: async () => undefined,
      };
    },
  ],
  testSessionStore() === 'redis'
    ? [
        'on Redis',
        async () => {
          const prefix = `${process.env.TESSERA_TEST_REDIS_RUN ?? 'tessera-demo-test'}-limiter-${randomBytes(4).toString('hex')}`;
          const redis = new DemoRedis(await connectSessionRedis(testRedisUrl()), prefix, 2_000);
          const connection = redis.connection as unknown as { keys(pattern: string): Promise<string[]>; pTTL(key: string): Promise<number> };
          return {
            store: new RedisLoginAttemptStore(redis),
            keys: () => connection.keys(`${prefix}:*`),
            expectBounded: async (keys) => {
              for (const key of keys) {
                const ttl = await connection.pTTL(key);
                expect(ttl).toBeGreaterThan(0);
                expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
              }
            },
            close: () => redis.onApplicationShutdown(),
          };
        },
      ]
    : [
        'on PostgreSQL',
        async (clock, config) => {
          const url = process.env.TESSERA_TEST_DATABASE_URL;
          if (!url) throw new Error('TESSERA_TEST_DATABASE_URL is not set: run through the demo-api Jest config');
          // A database of its own: pruning at this spec's clock must not delete the windows of the HTTP tests running beside it.
          const own = new URL(url);
          own.pathname = `/${own.pathname.slice(1)}_limiter_${randomBytes(3).toString('hex')}`;
          const admin = new Client({ connectionString: url });
          await admin.connect();
          await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(own.pathname.slice(1))}`);
          const dataSource = await new DataSource(dataSourceOptions(own.toString())).initialize();
          await runMigrations(dataSource);
          const store = new PostgresLoginAttemptStore(dataSource, clock, config, new SchedulerRegistry());
          const keys = async () => ((await dataSource.query('SELECT key FROM login_attempts')) as Array<{ key: string }>).map((row) => row.key);
          return {
            store,
            keys,
            expectBounded: async (held, now) => {
              expect(await store.prune(now - 1)).toBeGreaterThanOrEqual(0);
              expect((await keys()).filter((key) => held.includes(key))).toEqual(held);
              expect(await store.prune(now)).toBeGreaterThanOrEqual(held.length);
              expect((await keys()).filter((key) => held.includes(key))).toEqual([]);
            },
            close: async () => {
              await dataSource.destroy();
              await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(own.pathname.slice(1))} WITH (FORCE)`);
              await admin.end();
            },
          };
        },
      ],
];

describe.each(BACKENDS)('LoginRateLimiter, counters %s', (_name, open) => {
  let limiter: LoginRateLimiter;
  let clock: FakeClock;
  let config: AppConfig;
  let backend: Backend;
  const ip = '203.0.113.7';
  const email = 'ada@example.com';

  /** A limiter on the same store and SESSION_SECRET: another instance of the app. */
  async function limiterOn(store: LoginAttemptStore): Promise<LoginRateLimiter> {
    const moduleRef = await Test.createTestingModule({
      providers: [
        LoginRateLimiter,
        { provide: AppConfig, useValue: config },
        { provide: SessionClock, useValue: clock },
        { provide: LoginAttemptStore, useValue: store },
      ],
    }).compile();
    return moduleRef.get(LoginRateLimiter);
  }

  beforeAll(async () => {
    clock = new FakeClock('2030-01-01T00:00:00.000Z');
    backend = await open(clock, loadConfig({ NODE_ENV: 'test' }));
  });

  afterAll(async () => {
    await backend.close();
  });

  beforeEach(async () => {
    clock.set(new Date('2030-01-01T00:00:00.000Z').getTime());
    // A new SESSION_SECRET per test: new keys, so the tests never see each other's counters in a shared backend.
    config = loadConfig({ NODE_ENV: 'test', LOGIN_RATE_LIMIT: String(LIMIT) });
    limiter = await limiterOn(backend.store);
  });

  /** One attempt whose check answers `outcome` at once; the refusal, or undefined when it was checked. */
  async function attempt(outcome: boolean, account = email, from: string | undefined = ip) {
    try {
      await limiter.guard(account, from, async () => outcome);
      return undefined;
    } catch (error) {
      expect(error).toBeInstanceOf(TooManyLoginAttemptsException);
      return error as TooManyLoginAttemptsException;
    }
  }

  async function fail(times: number, account = email, from: string | undefined = ip): Promise<void> {
    for (let i = 0; i < times; i += 1) expect(await attempt(false, account, from)).toBeUndefined();
  }

  describe('per account and client address', () => {
    it('checks passwords until LOGIN_RATE_LIMIT failures, then refuses without checking', async () => {
      await fail(LIMIT);
      const check = jest.fn(async () => true);
      await expect(limiter.guard(email, ip, check)).rejects.toBeInstanceOf(TooManyLoginAttemptsException);
      expect(check).not.toHaveBeenCalled();
    });

    it('refuses with 429 too_many_attempts and the seconds left in the window', async () => {
      await fail(LIMIT);
      clock.advance(5 * MINUTE + 400);
      const error = await attempt(true);
      expect(error?.getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
      expect(error?.getResponse()).toMatchObject({ statusCode: 429, code: 'too_many_attempts' });
      // 9 min 59.6 s left, rounded up.
      expect(error?.retryAfterSeconds).toBe(600);
    });

    it('counts the window from the first failure, not the last', async () => {
      await fail(1);
      clock.advance(10 * MINUTE);
      await fail(LIMIT - 1);
      expect((await attempt(true))?.retryAfterSeconds).toBe(5 * 60);
      clock.advance(5 * MINUTE);
      expect(await attempt(true)).toBeUndefined();
    });

    it('never asks to retry after less than one second', async () => {
      await fail(LIMIT);
      clock.advance(WINDOW_MS - 1);
      expect((await attempt(true))?.retryAfterSeconds).toBe(1);
    });

    it('starts a fresh count in the next window', async () => {
      await fail(LIMIT);
      clock.advance(WINDOW_MS);
      await fail(LIMIT);
      expect((await attempt(true))?.retryAfterSeconds).toBe(WINDOW_MS / 1000);
    });

    it('treats the same email in another case or with spaces as the same account', async () => {
      await fail(LIMIT, ' Ada@Example.COM ');
      expect((await attempt(true))?.retryAfterSeconds).toBe(WINDOW_MS / 1000);
    });

    it('does not lock out another email, nor another address for longer than the account delay', async () => {
      await fail(LIMIT);
      expect(await attempt(true, 'grace@example.com')).toBeUndefined();
      // The account itself has used up its failures: other addresses wait 1 s, not 15 minutes.
      expect((await attempt(true, email, '198.51.100.1'))?.retryAfterSeconds).toBe(1);
      clock.advance(SECOND);
      expect(await attempt(true, email, '198.51.100.1')).toBeUndefined();
    });

    it('forgets the address failures after a success', async () => {
      await fail(LIMIT - 1);
      expect(await attempt(true)).toBeUndefined();
      // Spaced out past the account delay, which a success does not reset.
      for (let i = 0; i < LIMIT - 1; i += 1) {
        clock.advance(5 * SECOND);
        await fail(1);
      }
      clock.advance(5 * SECOND);
      expect(await attempt(true)).toBeUndefined();
    });
  });

  describe('finding 1: parallel guesses cannot bypass LOGIN_RATE_LIMIT', () => {
    it('counts attempts in flight: the one past the limit is refused before any check has finished', async () => {
      const pending = Array.from({ length: LIMIT }, () => deferred<boolean>());
      const started = pending.map((check) => begin(limiter, email, ip, check.promise));
      await Promise.all(started.map(({ checking }) => checking));
      const running = started.map(({ running }) => running);
      const extra = jest.fn(async () => true);
      const refused = await limiter.guard(email, ip, extra).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(TooManyLoginAttemptsException);
      expect((refused as TooManyLoginAttemptsException).retryAfterSeconds).toBe(1);
      expect(extra).not.toHaveBeenCalled();
      for (const check of pending) check.resolve(false);
      await Promise.all(running);
      expect((await attempt(true))?.retryAfterSeconds).toBe(WINDOW_MS / 1000);
    });

    it('gives back the slot of a check that throws, without counting a failure', async () => {
      const failing = deferred<boolean>();
      const held = Array.from({ length: LIMIT - 1 }, () => deferred<boolean>());
      const started = [...held, failing].map((check) => begin(limiter, email, ip, check.promise));
      await Promise.all(started.map(({ checking }) => checking));
      const running = started.slice(0, -1).map(({ running }) => running);
      const broken = started[started.length - 1].running;
      expect(await attempt(false)).toBeInstanceOf(TooManyLoginAttemptsException);
      failing.reject(new Error('database unavailable'));
      await expect(broken).rejects.toThrow('database unavailable');
      // The slot is free again, and the error was not a failure: LIMIT failures still fit.
      for (const check of held) check.resolve(false);
      await Promise.all(running);
      expect(await attempt(false)).toBeUndefined();
      expect(await attempt(true)).toBeInstanceOf(TooManyLoginAttemptsException);
    });

    it('a success among concurrent attempts gives back its own slot only, never the account failures', async () => {
      const held = Array.from({ length: LIMIT }, () => deferred<boolean>());
      const started = held.map((check) => begin(limiter, email, ip, check.promise));
      await Promise.all(started.map(({ checking }) => checking));
      const running = started.map(({ running }) => running);
      held[0].resolve(true);
      await running[0];
      for (const check of held.slice(1)) check.resolve(false);
      await Promise.all(running);
      // LIMIT - 1 failures counted for the account; one more fits, then it is throttled.
      await fail(1, email, '198.51.100.1');
      expect((await attempt(false, email, '198.51.100.2'))?.retryAfterSeconds).toBe(1);
    });
  });

  describe('finding 10: a progressive per-account delay across all addresses', () => {
    const address = (i: number) => `198.51.100.${i}`;

    it('after LOGIN_RATE_LIMIT failures from many addresses, waits 1 s, 2 s, 4 s, then at most 5 s between attempts', async () => {
      for (let i = 0; i < LIMIT; i += 1) await fail(1, email, address(i));
      for (const seconds of [1, 2, 4, 5, 5]) {
        expect((await attempt(false, email, address(100 + seconds)))?.retryAfterSeconds).toBe(seconds);
        clock.advance(seconds * SECOND - 1);
        expect(await attempt(false, email, address(150 + seconds))).toBeDefined();
        clock.advance(1);
        await fail(1, email, address(200 + seconds));
      }
    });

    it('is a delay, not a lockout: the owner gets in after at most 5 s of quiet', async () => {
      for (let i = 0; i < 20; i += 1) {
        await attempt(false, email, address(i));
        clock.advance(5 * SECOND);
      }
      expect(await attempt(true, email, '203.0.113.200')).toBeUndefined();
    });

    it('lets throttled attempts through one at a time, even from many addresses at once', async () => {
      for (let i = 0; i < LIMIT; i += 1) await fail(1, email, address(i));
      clock.advance(SECOND);
      const slot = deferred<boolean>();
      const { running: first, checking } = begin(limiter, email, address(50), slot.promise);
      await checking;
      for (let i = 51; i < 60; i += 1) expect(await attempt(false, email, address(i))).toBeDefined();
      slot.resolve(false);
      await first;
    });

    it('leaves other accounts alone', async () => {
      for (let i = 0; i < LIMIT; i += 1) await fail(1, email, address(i));
      expect(await attempt(false, 'grace@example.com', address(99))).toBeUndefined();
    });
  });

  describe('finding 10: client addresses', () => {
    it('counts an IPv6 client per /64', async () => {
      await fail(LIMIT - 1, email, '2001:db8:1:2::a');
      await fail(1, email, '2001:db8:1:2:ffff:ffff:ffff:ffff');
      clock.advance(5 * SECOND);
      expect((await attempt(true, email, '2001:db8:1:2:abcd::1'))?.retryAfterSeconds).toBeGreaterThan(60);
      expect(await attempt(true, email, '2001:db8:1:3::a')).toBeUndefined();
    });

    it('counts an IPv4-mapped IPv6 address as its IPv4 address', async () => {
      await fail(LIMIT, email, '::ffff:203.0.113.7');
      clock.advance(5 * SECOND);
      expect((await attempt(true, email, '203.0.113.7'))?.retryAfterSeconds).toBeGreaterThan(60);
    });
  });

  describe('keys and storage', () => {
    /** The account groups this test's attempts used (spied on the store). */
    function recordGroups(): Set<string> {
      const groups = new Set<string>();
      const reserve = backend.store.reserve.bind(backend.store);
      jest.spyOn(backend.store, 'reserve').mockImplementation((group, ...rest) => {
        groups.add(group);
        return reserve(group, ...rest);
      });
      return groups;
    }

    afterEach(() => jest.restoreAllMocks());

    it('holds no email, local part or address in clear text', async () => {
      await fail(1, 'Ada.Lovelace@Example.com', ip);
      const keys = (await backend.keys()).join(' ').toLowerCase();
      expect(keys).not.toBe('');
      expect(keys).not.toContain('lovelace');
      expect(keys).not.toContain('example');
      expect(keys).not.toContain(ip);
    });

    it('keeps nothing once a success leaves no failure and nothing in flight', async () => {
      const groups = recordGroups();
      const held = async () => (await backend.keys()).filter((key) => [...groups].some((group) => key.includes(group)));
      await fail(1);
      expect(await held()).toHaveLength(2);
      clock.advance(5 * SECOND);
      expect(await attempt(true)).toBeUndefined();
      // The address's failure is forgotten; the account keeps its own until the window ends.
      expect(await held()).toHaveLength(1);
      const other = 'grace@example.com';
      expect(await attempt(true, other)).toBeUndefined();
      await expect(limiter.guard(other, ip, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(groups.size).toBe(2);
      expect(await held()).toHaveLength(1);
    });

    it('lets go of a window once it ended (PostgreSQL: pruned; Redis: expired by its TTL)', async () => {
      const groups = recordGroups();
      const started = clock.now().getTime();
      await fail(1);
      const held = (await backend.keys()).filter((key) => [...groups].some((group) => key.includes(group)));
      expect(held).toHaveLength(2);
      await backend.expectBounded(held, started + WINDOW_MS);
    });

    it('keeps the account and the address apart in the key (no ambiguous concatenation)', async () => {
      await fail(LIMIT, 'a@b.c', '1.2.3.4');
      clock.advance(5 * SECOND);
      expect(await attempt(true, 'a@b.c1', '.2.3.4')).toBeUndefined();
    });
  });

  describe('shared by every instance', () => {
    it('counts the attempts of two instances on one store together, in flight included', async () => {
      const other = await limiterOn(backend.store);
      const pending = Array.from({ length: LIMIT }, () => deferred<boolean>());
      const checks = jest.fn();
      const started = pending.map((check, i) =>
        begin(
          i % 2 === 0 ? limiter : other,
          email,
          ip,
          check.promise.finally(() => checks()),
        ),
      );
      // Reserved before any check ends: the next one, on either instance, is refused unchecked.
      await Promise.all(started.map(({ checking }) => checking));
      const running = started.map(({ running }) => running);
      for (const instance of [limiter, other]) {
        const extra = jest.fn(async () => true);
        await expect(instance.guard(email, ip, extra)).rejects.toBeInstanceOf(TooManyLoginAttemptsException);
        expect(extra).not.toHaveBeenCalled();
      }
      for (const check of pending) check.resolve(false);
      await Promise.all(running);
      expect(checks).toHaveBeenCalledTimes(LIMIT);
      expect((await attempt(true))?.retryAfterSeconds).toBe(WINDOW_MS / 1000);
      const refused = await other.guard(email, ip, async () => true).catch((error: unknown) => error);
      expect((refused as TooManyLoginAttemptsException).retryAfterSeconds).toBe(WINDOW_MS / 1000);
    });

    it(`of many concurrent attempts on two instances, checks exactly LOGIN_RATE_LIMIT`, async () => {
      const other = await limiterOn(backend.store);
      const checks = jest.fn(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return false;
      });
      const results = await Promise.allSettled(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? limiter : other).guard(email, ip, checks)),
      );
      expect(checks).toHaveBeenCalledTimes(LIMIT);
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(LIMIT);
      for (const result of results.filter((result) => result.status === 'rejected')) {
        expect((result as PromiseRejectedResult).reason).toBeInstanceOf(TooManyLoginAttemptsException);
      }
    });

    it('frees a slot whose instance died mid-check once IN_FLIGHT_TTL_MS has passed, not before', async () => {
      const lost = deferred<boolean>();
      // Never settled: its instance is gone.
      await begin(limiter, email, ip, lost.promise).checking;
      await fail(LIMIT - 1);
      clock.advance(IN_FLIGHT_TTL_MS - 1);
      expect((await attempt(true))?.retryAfterSeconds).toBe(1);
      clock.advance(1);
      expect(await attempt(true)).toBeUndefined();
    });
  });

  describe('a store that cannot be reached', () => {
    const unavailable = () => new SessionStoreUnavailableError('test outage');

    it('refuses the attempt (SessionStoreUnavailableError, a 503) without checking the password', async () => {
      jest.spyOn(backend.store, 'reserve').mockRejectedValueOnce(unavailable());
      const check = jest.fn(async () => true);
      await expect(limiter.guard(email, ip, check)).rejects.toBeInstanceOf(SessionStoreUnavailableError);
      expect(check).not.toHaveBeenCalled();
    });

    it('answers a wrong password whose failure cannot be counted with the outage, not with a free 401', async () => {
      jest.spyOn(backend.store, 'settle').mockRejectedValueOnce(unavailable());
      await expect(limiter.guard(email, ip, async () => false)).rejects.toBeInstanceOf(SessionStoreUnavailableError);
    });

    it('lets a proven password in when only its settling fails (the counters stay stricter, never looser)', async () => {
      jest.spyOn(backend.store, 'settle').mockRejectedValueOnce(unavailable());
      await expect(limiter.guard(email, ip, async () => 'user')).resolves.toBe('user');
    });

    it('rethrows the check’s own error when giving its slot back fails too', async () => {
      jest.spyOn(backend.store, 'settle').mockRejectedValueOnce(unavailable());
      await expect(limiter.guard(email, ip, async () => Promise.reject(new Error('users table gone')))).rejects.toThrow('users table gone');
    });

    afterEach(() => jest.restoreAllMocks());
  });
});
