/** Source of the current time; inject a fake one in tests to move time without sleeping. */
export interface SessionClock {
  /** The current time. */
  now(): Date;
  /**
   * Optional: calls `listener` whenever the clock jumps (a test moved a fake clock);
   * returns a function that removes it. Timers the library keys to this clock (a socket's
   * access-token expiry) look at it again then, since real timers follow real time.
   */
  onAdvance?(listener: () => void): () => void;
}

/** Injection token for the clock used by every time-dependent rule. */
export const SessionClock = Symbol('SessionClock');

/** The wall clock, used unless `clock` is set in the module options. */
export const systemClock: SessionClock = { now: () => new Date() };
