/** One key's attempts in its current window, as the stores keep it. Times are ms since the epoch. */
export interface AttemptWindow {
  /** Failed attempts counted in this window. */
  failures: number;
  /** Attempts reserved and not yet settled (their password is being checked). */
  inFlight: number;
  /** When the window started; it ends `windowMs` later. */
  startedAt: number;
  /** When the last failure was counted; 0 before any. */
  lastFailureAt: number;
  /** When the last attempt was reserved; 0 before any. */
  reservedAt: number;
}

/** When a key admits one more attempt. */
export interface AttemptRule {
  /** Failures plus attempts in flight that fit in the window. */
  limit: number;
  /**
   * Past the limit: 0 refuses until the window ends; otherwise one attempt at a time is
   * admitted `baseDelayMs` after the last failure, the wait doubling per further failure
   * up to `maxDelayMs`.
   */
  baseDelayMs: number;
  /** Longest wait between two attempts past the limit. */
  maxDelayMs: number;
}

/**
 * How long a reservation may stay in flight. A password check takes well under a second;
 * one unsettled after this long was lost with its instance (killed mid-check, or the store
 * failed as it was settled), and counting it for ever would hold a slot for ever.
 */
export const IN_FLIGHT_TTL_MS = 2 * 60_000;

/** The most a delay doubles (2^16 is far past any `maxDelayMs`); keeps the power finite. */
const MAX_DOUBLINGS = 16;

/**
 * The key's window as it counts at `now`: a fresh one when there is none or it ended
 * (attempts still in flight carry over: they are still being checked), and without the
 * reservations past `IN_FLIGHT_TTL_MS`. Every store reads its windows through this rule;
 * the Redis script has the same lines in Lua.
 */
export function liveWindow(stored: AttemptWindow | undefined, now: number, windowMs: number): AttemptWindow {
  if (!stored) return { failures: 0, inFlight: 0, startedAt: now, lastFailureAt: 0, reservedAt: 0 };
  const inFlight = stored.inFlight > 0 && stored.reservedAt + IN_FLIGHT_TTL_MS > now ? stored.inFlight : 0;
  if (stored.startedAt + windowMs <= now) return { failures: 0, inFlight, startedAt: now, lastFailureAt: 0, reservedAt: stored.reservedAt };
  return { ...stored, inFlight };
}

/** The wait past the limit after the last failure (ms), for a window with `failures`. */
export function delayAfter(failures: number, rule: AttemptRule): number {
  const excess = Math.max(0, failures - rule.limit);
  return Math.min(rule.maxDelayMs, rule.baseDelayMs * 2 ** Math.min(excess, MAX_DOUBLINGS));
}

/** Whether a live window admits one more attempt at `now` under `rule`. */
export function admits(window: AttemptWindow, rule: AttemptRule, now: number): boolean {
  if (window.failures + window.inFlight < rule.limit) return true;
  // Past the limit, attempts go one at a time: a burst cannot share one slot.
  if (rule.baseDelayMs <= 0 || window.inFlight > 0) return false;
  return window.lastFailureAt + delayAfter(window.failures, rule) <= now;
}

/** A live window with one more attempt in flight. */
export function withReservation(window: AttemptWindow, now: number): AttemptWindow {
  return { ...window, inFlight: window.inFlight + 1, reservedAt: now };
}

/** How a reserved attempt ended. */
export type AttemptOutcome =
  /** The password was wrong: counted as a failure (in the window current when it ended). */
  | 'failed'
  /** Not counted (the check threw, or it succeeded and the key keeps its failures). */
  | 'released'
  /** Succeeded, and the key's failures are forgotten. */
  | 'cleared';

/** The live window after one of its attempts ended; undefined when nothing is left to keep. */
export function settled(window: AttemptWindow, outcome: AttemptOutcome, now: number): AttemptWindow | undefined {
  const inFlight = Math.max(0, window.inFlight - 1);
  const after =
    outcome === 'failed'
      ? { ...window, inFlight, failures: window.failures + 1, lastFailureAt: now }
      : { ...window, inFlight, failures: outcome === 'cleared' ? 0 : window.failures };
  return after.failures === 0 && after.inFlight === 0 ? undefined : after;
}

/** When a stored window can go: its end, or later while an attempt may still be in flight. */
export function expiryOf(window: AttemptWindow, windowMs: number): number {
  const end = window.startedAt + windowMs;
  return window.inFlight > 0 ? Math.max(end, window.reservedAt + IN_FLIGHT_TTL_MS) : end;
}
