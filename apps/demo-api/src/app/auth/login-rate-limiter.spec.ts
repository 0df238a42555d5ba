import { HttpStatus } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SessionClock } from '@tessera/session';
import { FakeClock } from '@tessera/session/testing';
import { AppConfig, loadConfig } from '../config/app-config';
import { LoginRateLimiter, TooManyLoginAttemptsException } from './login-rate-limiter';

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

describe('LoginRateLimiter', () => {
  let limiter: LoginRateLimiter;
  let clock: FakeClock;
  const ip = '203.0.113.7';
  const email = 'ada@example.com';

  beforeEach(async () => {
    clock = new FakeClock('2030-01-01T00:00:00.000Z');
    const moduleRef = await Test.createTestingModule({
      providers: [
        LoginRateLimiter,
        { provide: AppConfig, useValue: loadConfig({ NODE_ENV: 'test', LOGIN_RATE_LIMIT: String(LIMIT) }) },
        { provide: SessionClock, useValue: clock },
      ],
    }).compile();
    limiter = moduleRef.get(LoginRateLimiter);
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
      const running = pending.map((check) => limiter.guard(email, ip, () => check.promise));
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
      const running = held.map((check) => limiter.guard(email, ip, () => check.promise));
      const broken = limiter.guard(email, ip, () => failing.promise);
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
      const running = held.map((check) => limiter.guard(email, ip, () => check.promise));
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
      const first = limiter.guard(email, address(50), () => slot.promise);
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

  describe('keys and memory', () => {
    const keysOf = (which: 'perAddress' | 'perAccount') => [...limiter[which]['windows'].keys()].join(' ');

    it('holds no email, local part or address in clear text', async () => {
      await fail(1, 'Ada.Lovelace@Example.com', ip);
      const keys = `${keysOf('perAddress')} ${keysOf('perAccount')}`.toLowerCase();
      expect(keys).not.toContain('lovelace');
      expect(keys).not.toContain('example');
      expect(keys).not.toContain(ip);
    });

    it('keeps nothing once a success leaves no failure and nothing in flight', async () => {
      expect(await attempt(true)).toBeUndefined();
      expect(limiter['perAddress'].size).toBe(0);
      expect(limiter['perAccount'].size).toBe(0);
      await expect(limiter.guard(email, ip, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(limiter['perAddress'].size).toBe(0);
      expect(limiter['perAccount'].size).toBe(0);
    });

    it('keeps the account and the address apart in the key (no ambiguous concatenation)', async () => {
      await fail(LIMIT, 'a@b.c', '1.2.3.4');
      clock.advance(5 * SECOND);
      expect(await attempt(true, 'a@b.c1', '.2.3.4')).toBeUndefined();
    });
  });
});
