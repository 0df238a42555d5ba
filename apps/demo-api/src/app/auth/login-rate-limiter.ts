import { HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { SessionClock } from '@tessera/session';
import { createHash } from 'node:crypto';
import { AppConfig } from '../config/app-config';

const WINDOW_MS = 15 * 60_000;
const MAX_KEYS = 100_000;

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

interface Window {
  failures: number;
  startedAt: number;
}

/**
 * Counts failed logins per email and client IP over 15 minutes (`LOGIN_RATE_LIMIT`)
 * and refuses further attempts with 429 until the window ends. In memory, per
 * instance: a shared store belongs with the Redis adapter.
 */
@Injectable()
export class LoginRateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly config: AppConfig,
    @Inject(SessionClock) private readonly clock: SessionClock,
  ) {}

  /** Key for an email and IP; hashed so the map holds no email addresses. */
  key(email: string, ip: string | undefined): string {
    return createHash('sha256').update(`${email.trim().toLowerCase()}\u0000${ip ?? ''}`).digest('base64url');
  }

  /** Throws 429 `too_many_attempts` (with `Retry-After`) when the key has used up its failures. */
  assertAllowed(key: string): void {
    const window = this.current(key);
    if (window && window.failures >= this.config.loginRateLimit) {
      const retryAfter = Math.max(1, Math.ceil((window.startedAt + WINDOW_MS - this.clock.now().getTime()) / 1000));
      throw new TooManyLoginAttemptsException(retryAfter);
    }
  }

  /** Records one failed attempt. */
  recordFailure(key: string): void {
    const window = this.current(key) ?? { failures: 0, startedAt: this.clock.now().getTime() };
    window.failures += 1;
    if (!this.windows.has(key) && this.windows.size >= MAX_KEYS) this.evictOldest();
    this.windows.set(key, window);
  }

  /** Forgets the key after a successful login. */
  reset(key: string): void {
    this.windows.delete(key);
  }

  private current(key: string): Window | undefined {
    const window = this.windows.get(key);
    if (window && window.startedAt + WINDOW_MS <= this.clock.now().getTime()) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  /**
   * Makes room when the map is full: first every ended window, then the oldest one.
   * Evicting a live window could let a flood of other keys reset a victim's count;
   * the bound exists so that the same flood cannot exhaust memory instead.
   */
  private evictOldest(): void {
    const now = this.clock.now().getTime();
    for (const [key, window] of this.windows) {
      if (window.startedAt + WINDOW_MS <= now) this.windows.delete(key);
    }
    if (this.windows.size < MAX_KEYS) return;
    const oldest = this.windows.keys().next().value;
    if (oldest !== undefined) this.windows.delete(oldest);
  }
}
