import { HttpException, HttpStatus, Inject, Injectable, Logger } from '@nestjs/common';
import { SessionClock } from '@tessera/session';
import { createHmac } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { delayAfter } from './attempt-window';
import type { AttemptRule, AttemptWindow } from './attempt-window';
import { throttleAddress } from './client-address';
import { LoginAttemptStore } from './login-attempt.store';
import type { AttemptSettlement } from './login-attempt.store';

/** The window failures are counted in. */
export const LOGIN_WINDOW_MS = 15 * 60_000;
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

/** The two keys of one attempt: the account across all addresses, and the account from this address. */
interface AttemptKeys {
  /** The account's hash: the group both keys belong to. */
  group: string;
  address: string;
  account: string;
}

/**
 * Throttles password checks (login, password change) on two levels, counted in the
 * session store's backend (`LoginAttemptStore`: PostgreSQL or Redis), so that every
 * instance counts against the same limits:
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
 * Attempts are reserved, on both keys at once and atomically in the store, before the
 * password is checked, and count against both limits while in flight, so however requests
 * interleave, on one instance or many, no more passwords are checked than the limits allow.
 * A store that cannot be reached fails the attempt (`SessionStoreUnavailableError`, a 503):
 * never an unthrottled check. Keys are HMACs under a key derived from SESSION_SECRET, which
 * every instance shares: the store holds no email address or client address.
 */
@Injectable()
export class LoginRateLimiter {
  private readonly logger = new Logger('LoginRateLimiter');
  private readonly keySecret: Buffer;
  private readonly addressRule: AttemptRule;
  private readonly accountRule: AttemptRule;

  constructor(
    config: AppConfig,
    @Inject(SessionClock) private readonly clock: SessionClock,
    private readonly attempts: LoginAttemptStore,
  ) {
    // Its own key, so that these hashes say nothing about the session secret's other uses.
    this.keySecret = createHmac('sha256', config.session.sessionSecret).update('tessera-demo login-attempt keys').digest();
    const limit = config.loginRateLimit;
    this.addressRule = { limit, baseDelayMs: 0, maxDelayMs: 0 };
    this.accountRule = { limit, baseDelayMs: ACCOUNT_BASE_DELAY_MS, maxDelayMs: ACCOUNT_MAX_DELAY_MS };
  }

  /**
   * Runs one password check for `account` (an email, or another stable account name) from
   * client address `ip`, under both limits: throws `TooManyLoginAttemptsException` without
   * calling `check` when either is used up. A falsy result counts as a failure; a truthy one
   * forgets the address's failures; an exception counts nothing and is rethrown.
   */
  async guard<T>(account: string, ip: string | undefined, check: () => Promise<T>): Promise<T> {
    const keys = this.keysOf(account, ip);
    await this.reserve(keys);
    let outcome: T;
    try {
      outcome = await check();
    } catch (error) {
      await this.settle(keys, 'released', 'released').catch(() => this.logger.warn('An attempt slot could not be given back'));
      throw error;
    }
    if (outcome) {
      // A success proves nothing about the other addresses guessing at this account. Should
      // the store fail here, the slots and failures stay counted until they expire: stricter,
      // never looser, so the user who proved the password is not refused for it.
      await this.settle(keys, 'cleared', 'released').catch(() => this.logger.warn('A successful attempt could not be settled'));
    } else {
      // An uncounted failure would be a free guess: the store's error (503) is the answer.
      await this.settle(keys, 'failed', 'failed');
    }
    return outcome;
  }

  private async reserve(keys: AttemptKeys): Promise<void> {
    const now = this.clock.now().getTime();
    const { admitted, windows } = await this.attempts.reserve(
      keys.group,
      [
        { key: keys.address, rule: this.addressRule },
        { key: keys.account, rule: this.accountRule },
      ],
      now,
      LOGIN_WINDOW_MS,
    );
    if (admitted) return;
    const [address, accountWindow] = windows;
    if (address.failures + address.inFlight >= this.addressRule.limit) {
      // Used up by failures: until the window ends. By attempts still in flight: they end soon.
      this.refuse(address.failures >= this.addressRule.limit ? address.startedAt + LOGIN_WINDOW_MS - now : ACCOUNT_BASE_DELAY_MS);
    }
    this.refuse(this.accountWait(accountWindow, now));
  }

  private settle(keys: AttemptKeys, address: AttemptSettlement['outcome'], account: AttemptSettlement['outcome']): Promise<void> {
    return this.attempts.settle(
      keys.group,
      [
        { key: keys.address, outcome: address },
        { key: keys.account, outcome: account },
      ],
      this.clock.now().getTime(),
      LOGIN_WINDOW_MS,
    );
  }

  /** How long the account's next attempt must wait (ms), given it was refused. */
  private accountWait(window: AttemptWindow, now: number): number {
    const delay = delayAfter(window.failures, this.accountRule);
    // One attempt at a time past the limit: while one is in flight, the next waits a full delay.
    if (window.inFlight > 0) return delay;
    return window.lastFailureAt + delay - now;
  }

  private refuse(waitMs: number): never {
    throw new TooManyLoginAttemptsException(Math.max(1, Math.ceil(waitMs / 1000)));
  }

  private keysOf(account: string, ip: string | undefined): AttemptKeys {
    const name = account.trim().toLowerCase();
    return {
      group: this.hash('account', name),
      address: `address:${this.hash('address', name, throttleAddress(ip))}`,
      account: 'account',
    };
  }

  private hash(...parts: string[]): string {
    return createHmac('sha256', this.keySecret).update(JSON.stringify(parts)).digest('base64url');
  }
}
