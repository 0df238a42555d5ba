import type { SessionClock } from '../lib/interfaces/clock.interface';

/** A clock that only moves when told to; for tests of expiry without sleeping. */
export class FakeClock implements SessionClock {
  private current: number;

  constructor(start: Date | string | number = '2030-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.current += ms;
  }

  /** Sets the time. */
  set(at: Date | string | number): void {
    this.current = new Date(at).getTime();
  }
}
