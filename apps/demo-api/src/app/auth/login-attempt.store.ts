import type { AttemptOutcome, AttemptRule, AttemptWindow } from './attempt-window';

/** One key an attempt must be admitted by, and its rule. */
export interface AttemptClaim {
  /** The key within its group (already hashed: no email or address in clear). */
  key: string;
  rule: AttemptRule;
}

/** What `reserve` answers. */
export interface AttemptReservation {
  /** True when every key admitted the attempt, and it now counts in flight on each. */
  admitted: boolean;
  /** Each claim's live window as it was before the reservation, in the claims' order. */
  windows: AttemptWindow[];
}

/** How one key's reserved attempt ended. */
export interface AttemptSettlement {
  key: string;
  outcome: AttemptOutcome;
}

/**
 * Where login-attempt counters live: the same backend as the sessions (PostgreSQL or
 * Redis), so that every instance counts against the same limits. Each call is atomic over
 * all its keys; the keys of one call belong to one `group` (one account), which Redis keeps
 * in one hash slot. Windows follow the rules of `attempt-window.ts`. Throws
 * `SessionStoreUnavailableError` when the backend cannot be reached, so that a login is
 * answered 503 and never let through unthrottled.
 */
export abstract class LoginAttemptStore {
  /**
   * When every claim's key admits one more attempt at `now`, counts it in flight on all of
   * them; otherwise changes nothing. Either way returns each key's live window from before.
   */
  abstract reserve(group: string, claims: AttemptClaim[], now: number, windowMs: number): Promise<AttemptReservation>;

  /** Settles attempts reserved by `reserve`, each key by its outcome. */
  abstract settle(group: string, settlements: AttemptSettlement[], now: number, windowMs: number): Promise<void>;

  /** Deletes the windows that ended before `now`, where the backend does not expire them by itself; returns how many. */
  abstract prune(now: number): Promise<number>;
}
