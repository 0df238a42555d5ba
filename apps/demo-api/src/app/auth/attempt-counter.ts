import { BoundedMap } from '@tessera/session';

/** One key's attempts in its current window. */
export interface AttemptWindow {
  /** Failed attempts counted in this window. */
  failures: number;
  /** Attempts reserved and not yet settled (their password is being checked). */
  inFlight: number;
  /** When the window started (ms since the epoch); it ends `windowMs` later. */
  readonly startedAt: number;
  /** When the last failure was counted (ms since the epoch); 0 before any. */
  lastFailureAt: number;
}

/**
 * Failed and in-flight attempts per (already hashed) key over a fixed window that starts
 * with the key's first attempt. Bounded: past `maxKeys` it drops ended windows first,
 * then idle ones, oldest first. Pure logic: time is passed in.
 */
export class AttemptCounter {
  // Insertion order is start order (a window is re-inserted when a new one starts), so the
  // oldest windows are always at the front and eviction rarely looks past a few entries.
  private readonly windows: BoundedMap<string, AttemptWindow>;

  constructor(
    private readonly windowMs: number,
    maxKeys: number,
  ) {
    this.windows = new BoundedMap(maxKeys);
  }

  /** Number of keys held. */
  get size(): number {
    return this.windows.size;
  }

  /** The key's live window, if any; an ended one is dropped. */
  get(key: string, now: number): AttemptWindow | undefined {
    const window = this.windows.get(key);
    if (window && this.ended(window, now)) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }

  /** When a window ends (ms since the epoch). */
  endOf(window: AttemptWindow): number {
    return window.startedAt + this.windowMs;
  }

  /** Counts one more attempt in flight for the key; returns the window it was counted in. */
  reserve(key: string, now: number): AttemptWindow {
    const window = this.get(key, now) ?? this.start(key, now);
    window.inFlight += 1;
    return window;
  }

  /** Settles an attempt reserved in `window` as failed: counted in the key's current window. */
  fail(key: string, window: AttemptWindow, now: number): void {
    window.inFlight = Math.max(0, window.inFlight - 1);
    // The reserving window may have ended (or been evicted) meanwhile: the failure happened now.
    const current = this.get(key, now) ?? this.start(key, now);
    current.failures += 1;
    current.lastFailureAt = now;
  }

  /** Settles an attempt reserved in `window` without counting it (the check threw, or it succeeded). */
  release(key: string, window: AttemptWindow): void {
    window.inFlight = Math.max(0, window.inFlight - 1);
    this.dropIfIdle(key, window);
  }

  /** Like `release`, and forgets the failures counted so far (a successful login). */
  clear(key: string, window: AttemptWindow): void {
    window.failures = 0;
    this.release(key, window);
  }

  private start(key: string, now: number): AttemptWindow {
    if (this.windows.isFull) this.evict(now);
    const window: AttemptWindow = { failures: 0, inFlight: 0, startedAt: now, lastFailureAt: 0 };
    this.windows.set(key, window);
    return window;
  }

  private ended(window: AttemptWindow, now: number): boolean {
    return window.startedAt + this.windowMs <= now;
  }

  private dropIfIdle(key: string, window: AttemptWindow): void {
    if (window.failures === 0 && window.inFlight === 0 && this.windows.get(key) === window) this.windows.delete(key);
  }

  /**
   * Makes room for one key: drops the ended windows at the front, then the oldest window
   * with nothing in flight (in-flight ones are recent, so they sit at the back); when every
   * window is busy, the map drops the oldest one as the new key is stored. Dropping a live
   * window can reset one key's count early; the bound exists so that a flood of keys cannot
   * exhaust memory instead.
   */
  private evict(now: number): void {
    for (const [key, window] of this.windows) {
      if (this.ended(window, now)) {
        this.windows.delete(key);
        continue;
      }
      if (!this.windows.isFull) return;
      if (window.inFlight === 0) {
        this.windows.delete(key);
        return;
      }
    }
  }
}
