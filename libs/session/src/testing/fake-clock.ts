import type { SessionClock } from '../lib/interfaces/clock.interface';

/**
 * A clock that only moves when told to; for tests of expiry without sleeping. Moving it
 * tells `onAdvance` listeners (timers keyed to it, such as a socket's token expiry, fire then).
 */
export class FakeClock implements SessionClock {
  private current: number;
  private readonly listeners = new Set<() => void>();

  constructor(start: Date | string | number = '2030-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
    this.moved();
  }

  /** Sets the time. */
  set(at: Date | string | number): void {
    this.current = new Date(at).getTime();
    this.moved();
  }

  /** Calls `listener` after every move; returns a function that removes it. */
  onAdvance(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private moved(): void {
    for (const listener of this.listeners) listener();
  }
}
