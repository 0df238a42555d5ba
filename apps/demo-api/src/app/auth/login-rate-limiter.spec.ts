import { HttpStatus } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SessionClock } from '@tessera/session';
import { FakeClock } from '@tessera/session/testing';
import { AppConfig, loadConfig } from '../config/app-config';
import { LoginRateLimiter, TooManyLoginAttemptsException } from './login-rate-limiter';

const MINUTE = 60_000;
const WINDOW_MS = 15 * MINUTE;
const LIMIT = 3;

/** The exception thrown by `assertAllowed`, or undefined when it passes. */
function refusal(limiter: LoginRateLimiter, key: string): TooManyLoginAttemptsException | undefined {
  try {
    limiter.assertAllowed(key);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(TooManyLoginAttemptsException);
    return error as TooManyLoginAttemptsException;
  }
}

function fail(limiter: LoginRateLimiter, key: string, times: number): void {
  for (let i = 0; i < times; i += 1) limiter.recordFailure(key);
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

  it('allows attempts until LOGIN_RATE_LIMIT failures, then refuses', () => {
    const key = limiter.key(email, ip);
    expect(refusal(limiter, key)).toBeUndefined();
    fail(limiter, key, LIMIT - 1);
    expect(refusal(limiter, key)).toBeUndefined();
    limiter.recordFailure(key);
    expect(refusal(limiter, key)).toBeDefined();
  });

  it('refuses with 429 too_many_attempts and the seconds left in the window', () => {
    const key = limiter.key(email, ip);
    fail(limiter, key, LIMIT);
    clock.advance(5 * MINUTE + 400);
    const error = refusal(limiter, key);
    expect(error?.getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
    expect(error?.getResponse()).toMatchObject({ statusCode: 429, code: 'too_many_attempts' });
    // 9 min 59.6 s left, rounded up.
    expect(error?.retryAfterSeconds).toBe(600);
  });

  it('counts the window from the first failure, not the last', () => {
    const key = limiter.key(email, ip);
    limiter.recordFailure(key);
    clock.advance(10 * MINUTE);
    fail(limiter, key, LIMIT - 1);
    expect(refusal(limiter, key)?.retryAfterSeconds).toBe(5 * 60);
    clock.advance(5 * MINUTE);
    expect(refusal(limiter, key)).toBeUndefined();
  });

  it('never asks to retry after less than one second', () => {
    const key = limiter.key(email, ip);
    fail(limiter, key, LIMIT);
    clock.advance(WINDOW_MS - 1);
    expect(refusal(limiter, key)?.retryAfterSeconds).toBe(1);
  });

  it('does not affect another email or another IP', () => {
    fail(limiter, limiter.key(email, ip), LIMIT);
    expect(refusal(limiter, limiter.key(email, ip))).toBeDefined();
    expect(refusal(limiter, limiter.key('grace@example.com', ip))).toBeUndefined();
    expect(refusal(limiter, limiter.key(email, '198.51.100.1'))).toBeUndefined();
    expect(refusal(limiter, limiter.key(email, undefined))).toBeUndefined();
  });

  it('treats the same email in another case or with spaces as the same key', () => {
    fail(limiter, limiter.key(' Ada@Example.COM ', ip), LIMIT);
    expect(refusal(limiter, limiter.key(email, ip))).toBeDefined();
  });

  it('allows again once 15 minutes have passed since the first failure', () => {
    const key = limiter.key(email, ip);
    fail(limiter, key, LIMIT);
    clock.advance(WINDOW_MS - 1);
    expect(refusal(limiter, key)).toBeDefined();
    clock.advance(1);
    expect(refusal(limiter, key)).toBeUndefined();
  });

  it('starts a fresh count in the next window', () => {
    const key = limiter.key(email, ip);
    fail(limiter, key, LIMIT);
    clock.advance(WINDOW_MS);
    fail(limiter, key, LIMIT - 1);
    expect(refusal(limiter, key)).toBeUndefined();
    limiter.recordFailure(key);
    expect(refusal(limiter, key)?.retryAfterSeconds).toBe(WINDOW_MS / 1000);
  });

  it('forgets the key on reset', () => {
    const key = limiter.key(email, ip);
    fail(limiter, key, LIMIT);
    limiter.reset(key);
    expect(refusal(limiter, key)).toBeUndefined();
    fail(limiter, key, LIMIT - 1);
    expect(refusal(limiter, key)).toBeUndefined();
  });

  it('reset touches no other key', () => {
    const other = limiter.key('grace@example.com', ip);
    fail(limiter, other, LIMIT);
    limiter.reset(limiter.key(email, ip));
    expect(refusal(limiter, other)).toBeDefined();
  });

  it('keys do not contain the email (or its local part) in clear text', () => {
    const key = limiter.key('Ada.Lovelace@Example.com', ip);
    expect(key.toLowerCase()).not.toContain('lovelace');
    expect(key.toLowerCase()).not.toContain('example');
    expect(key).not.toContain(ip);
    expect(key).not.toBe(limiter.key('Ada.Lovelace@Example.com', '198.51.100.1'));
  });

  it('keeps the email and IP apart in the key (no ambiguous concatenation)', () => {
    expect(limiter.key('a@b.c', '1.2.3.4')).not.toBe(limiter.key('a@b.c1', '.2.3.4'));
  });
});
