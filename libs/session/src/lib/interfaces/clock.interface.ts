/** Source of the current time; inject a fake one in tests to move time without sleeping. */
export interface SessionClock {
  /** The current time. */
  now(): Date;
}

/** Injection token for the clock used by every time-dependent rule. */
export const SessionClock = Symbol('SessionClock');

/** The wall clock, used unless `clock` is set in the module options. */
export const systemClock: SessionClock = { now: () => new Date() };
