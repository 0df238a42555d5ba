import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { SessionClock } from '@tessera/session';
import { createHmac, randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { AttemptCounter } from './attempt-counter';
import type { AttemptWindow } from './attempt-counter';
import { throttleAddress } from './client-address';

const WINDOW_MS = 15 * 60_000;
const MAX_KEYS = 100_000;
/** First wait once an account has used up its failures across all addresses; doubles per further failure. */
const ACCOUNT_BASE_DELAY_MS = 1_000;
/** Longest wait between two attempts for one account: a few seconds, never a lockout. */
const ACCOUNT_MAX_DELAY_MS = 5_000;

/** 429 `too_many_attempts`; the exception filter turns `retryAfterSeconds` into `Retry-After`. */
export class TooManyLoginAttemptsException extends HttpException {
  constructor(readonly retryAfterSeconds: number) {
    super(
      {
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'Too many failed login attempts; try again later',
        code: 'too_many_attempts',
      },
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}

/** One reserved attempt, counted in both windows until it is settled. */
interface Reservation {
  addressKey: string;
  address: AttemptWindow;
  accountKey: string;
  account: AttemptWindow;
}

/**
 * Throttles password checks (login, password change) on two levels, in memory, per
 * instance (a shared store belongs with the Redis adapter):
 *
 * - per account and client address: `LOGIN_RATE_LIMIT` failures within 15 minutes refuse
 *   that address for the rest of the window (OWASP Authentication cheat sheet,
 *   "Protect against automated attacks"; ASVS V6.3.1);
 * - per account across all addresses (password spraying from many addresses): once the
 *   account has as many failures within the window, each further attempt must wait 1 s,
 *   2 s, 4 s, then 5 s after the previous failure, one at a time. A progressive delay, not
 *   a lockout: anyone can make an account's failures pile up (the cheat sheet warns that
 *   lockout is a denial of service), so the wait stays a few seconds; an attacker who keeps
 *   failing only makes the owner compete for one attempt per 5 s. The wait is a `429` with
 *   `Retry-After`, never a sleep, so throttled requests hold no server resources (a sleep
 *   would also not slow a sprayer down, who simply sends more requests in parallel).
 *
 * Attempts are reserved before the password is checked and count against both limits while
 * in flight, so however requests interleave, no more passwords are checked than the limits
 * allow. Keys are HMACs under a per-process random key: the maps hold no email address.
 */
@Injectable()
export class LoginRateLimiter {
  private readonly perAddress = new AttemptCounter(WINDOW_MS, MAX_KEYS);
  private readonly perAccount = new AttemptCounter(WINDOW_MS, MAX_KEYS);
  private readonly keySecret = randomBytes(32);

  constructor(
    private readonly config: AppConfig,
    @Inject(SessionClock) private readonly clock: SessionClock,
  ) {}

  /**
   * Runs one password check for `account` (an email, or another stable account name) from
   * client address `ip`, under both limits: throws `TooManyLoginAttemptsException` without
   * calling `check` when either is used up. A falsy result counts as a failure; a truthy one
   * forgets the address's failures; an exception counts nothing and is rethrown.
   */
  async guard<T>(account: string, ip: string | undefined, check: () => Promise<T>): Promise<T> {
    // Synchronous up to here: the attempt is reserved before anything awaits.
    const reservation = this.reserve(account, ip);
    let outcome: T;
    try {
      outcome = await check();
    } catch (error) {
      this.perAddress.release(reservation.addressKey, reservation.address);
      this.perAccount.release(reservation.accountKey, reservation.account);
      throw error;
    }
    if (outcome) {
      this.perAddress.clear(reservation.addressKey, reservation.address);
      // A success proves nothing about the other addresses guessing at this account.
      this.perAccount.release(reservation.accountKey, reservation.account);
    } else {
      const now = this.clock.now().getTime();
      this.perAddress.fail(reservation.addressKey, reservation.address, now);
      this.perAccount.fail(reservation.accountKey, reservation.account, now);
    }
    return outcome;
  }

  private reserve(account: string, ip: string | undefined): Reservation {
    const now = this.clock.now().getTime();
    const name = account.trim().toLowerCase();
    const addressKey = this.hash('address', name, throttleAddress(ip));
    const accountKey = this.hash('account', name);
    const limit = this.config.loginRateLimit;

    const address = this.perAddress.get(addressKey, now);
    if (address && address.failures + address.inFlight >= limit) {
      // Used up by failures: until the window ends. By attempts still in flight: they end soon.
      this.refuse(address.failures >= limit ? this.perAddress.endOf(address) - now : ACCOUNT_BASE_DELAY_MS);
    }
    const wait = this.accountWait(this.perAccount.get(accountKey, now), now);
    if (wait > 0) this.refuse(wait);
    return {
      addressKey,
      address: this.perAddress.reserve(addressKey, now),
      accountKey,
      account: this.perAccount.reserve(accountKey, now),
    };
  }

  /** How long the account's next attempt must wait (ms); 0 or less: it may go now. */
  private accountWait(window: AttemptWindow | undefined, now: number): number {
    const limit = this.config.loginRateLimit;
    if (!window || window.failures + window.inFlight < limit) return 0;
    const excess = Math.max(0, window.failures - limit);
    const delay = Math.min(ACCOUNT_MAX_DELAY_MS, ACCOUNT_BASE_DELAY_MS * 2 ** Math.min(excess, 16));
    // Past the limit, attempts go one at a time: a burst cannot share one slot.
    if (window.inFlight > 0) return delay;
    return window.lastFailureAt + delay - now;
  }

  private refuse(waitMs: number): never {
    throw new TooManyLoginAttemptsException(Math.max(1, Math.ceil(waitMs / 1000)));
  }

  private hash(...parts: string[]): string {
    return createHmac('sha256', this.keySecret).update(JSON.stringify(parts)).digest('base64url');
  }
}
