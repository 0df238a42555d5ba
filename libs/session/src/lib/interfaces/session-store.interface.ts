import type { SessionFeedStatus } from '../utils/session-health.util';
import type { StoredClaims } from './session.interface';

/** Why a session stopped being usable. */
export type RevocationReason =
  | 'logout'
  | 'logout_all'
  | 'refresh_token_reused'
  | 'evicted'
  | 'admin'
  | 'reissued'
  | 'password_changed'
  | 'user_revoked'
  | 'user_disabled';

/** One session as a store keeps it. Times are `Date`s; hashes are base64url HMAC-SHA256 values. */
export interface SessionRecord {
  /** Public handle of the session (not a credential). */
  id: string;
  /** Owner of the session. */
  userId: string;
  /** Roles copied into access tokens issued for this session. */
  roles: string[];
  /** Custom claims copied into access tokens issued for this session (`{}` for none). */
  claims: StoredClaims;
  /** Hash of the refresh token that is valid now. */
  refreshHash: string;
  /** Hash of the refresh token that the last rotation replaced, if any. */
  previousRefreshHash: string | null;
  /** How many rotations this session has gone through. */
  generation: number;
  /** When the last rotation happened, if any. */
  rotatedAt: Date | null;
  /** When the session was created (login). */
  createdAt: Date;
  /**
   * When the user last proved a credential for this session (OIDC Core §2 `auth_time`): the
   * login, or the last `SessionService.markAuthenticated`. Kept by rotation and `touch`;
   * what `@RequireFreshSession()` measures.
   */
  authenticatedAt: Date;
  /** Last recorded activity. */
  lastSeenAt: Date;
  /** When the session ends unless it is used again (idle timeout, capped by the absolute one). */
  expiresAt: Date;
  /** When the session ends whatever happens (absolute timeout). */
  absoluteExpiresAt: Date;
  /** When the session was revoked, or null while it is live. */
  revokedAt: Date | null;
  /** Why it was revoked. */
  revokedReason: RevocationReason | null;
  /** User agent seen at login, truncated. */
  userAgent: string | null;
  /** Client IP seen at login. */
  ip: string | null;
}

/** What a rotation writes when its compare-and-swap succeeds. */
export interface RefreshRotation {
  /** Hash the session must still hold for the swap to happen. */
  expectedRefreshHash: string;
  /** Hash of the new refresh token. */
  refreshHash: string;
  /** Time of the rotation; the session must not be expired at this time. */
  now: Date;
  /** New idle expiry; the store caps it at `absoluteExpiresAt`. */
  expiresAt: Date;
}

/**
 * Persistence contract for sessions. Guards and services inject the `SessionStore`
 * token, never a concrete class. Every implementation must pass the shared contract
 * suite exported from `@tessera/session/testing`.
 *
 * The shape suits a key-value store as well as SQL: every hot operation addresses
 * one session by id, and rotation and re-issue are each a single atomic operation.
 */
export interface SessionStore {
  /** Inserts a new session. Ids are unique; inserting an existing id must fail. */
  create(session: SessionRecord): Promise<void>;

  /** Returns the session with this id, revoked or expired ones included, or null. */
  findById(id: string): Promise<SessionRecord | null>;

  /**
   * Atomically replaces the refresh hash when, and only when, the session exists,
   * is not revoked, is not expired at `rotation.now`, and still holds
   * `rotation.expectedRefreshHash`. On success it also moves the old hash to
   * `previousRefreshHash`, increments `generation`, sets `rotatedAt` and
   * `lastSeenAt` to `now`, sets `expiresAt` to `min(rotation.expiresAt, absoluteExpiresAt)`,
   * and returns the updated record. Otherwise it changes nothing and returns null.
   * Of many concurrent calls with the same expected hash, exactly one succeeds.
   */
  rotateRefresh(id: string, rotation: RefreshRotation): Promise<SessionRecord | null>;

  /**
   * Records activity on a live session (not revoked, not expired at `at`): `lastSeenAt`
   * becomes `at` and `expiresAt` becomes `min(expiresAt argument, absoluteExpiresAt)`;
   * neither ever moves backwards. Returns false when the session is not live.
   */
  touch(id: string, at: Date, expiresAt: Date): Promise<boolean>;

  /**
   * Records that the user of a live session (not revoked, not expired at `at`) proved a
   * credential again: `authenticatedAt` becomes `at`, unless it is later already (it never
   * moves backwards). Nothing else changes. Returns the updated record, or null when the
   * session is not live.
   */
  markAuthenticated(id: string, at: Date): Promise<SessionRecord | null>;

  /** Marks one live session revoked; returns false when it was already revoked or absent. */
  revoke(id: string, reason: RevocationReason, at: Date): Promise<boolean>;

  /** Live (not revoked, not expired at `now`) sessions of a user, oldest first. */
  listByUser(userId: string, now: Date): Promise<SessionRecord[]>;

  /**
   * Moves a live session to a new id in one atomic step (a privilege change, OWASP ASVS
   * V7.2.4): when, and only when, session `oldId` exists, belongs to `successor.userId`,
   * is not revoked and is not expired at `at`, it is revoked (`reason`, `at`) and
   * `successor` is inserted, together, with the `roles` and `claims` the old session has
   * at that moment (not those of `successor`, read before: a concurrent
   * `updateUserSessions` is never undone). Otherwise nothing changes and it returns false;
   * it never leaves the successor stored with the old session live, nor the old session
   * revoked without its successor (an insert that fails undoes the revocation).
   *
   * Atomic against every other revocation: of a `reissue` and a concurrent `revoke` of
   * `oldId`, exactly one succeeds; and a `revokeByUser` of the user that runs concurrently
   * either comes first (`reissue` returns false, nothing is created) or also revokes the
   * successor. A successor never escapes a revocation of the user's sessions.
   */
  reissue(oldId: string, successor: SessionRecord, reason: RevocationReason, at: Date): Promise<boolean>;

  /**
   * Revokes every not-yet-revoked session of a user except `exceptId`; returns the revoked
   * ids. A session created by a concurrent `reissue` of one of them is revoked too (see
   * `reissue`).
   */
  revokeByUser(userId: string, reason: RevocationReason, at: Date, exceptId?: string): Promise<string[]>;

  /**
   * Sets `roles` and `claims` of every live (not revoked, not expired at `at`) session of
   * a user, and announces the change to every instance (`RevocationFeedListener.userChanged`
   * through the change feed), in one operation; the announcement goes out even when the
   * user has no live session. Returns how many sessions it updated. Revoked sessions keep
   * what they had.
   *
   * Atomic against `reissue`: a successor never escapes an update. Of a `reissue` of one
   * of the user's sessions and a concurrent `updateUserSessions`, either the update comes
   * first and the successor inherits the new grants from the old session (see `reissue`),
   * or the reissue comes first and the update also sets them on the successor. Once both
   * have returned, the successor holds the new grants (when it is live at `at`), whatever
   * grants the caller of `reissue` put in it.
   */
  updateUserSessions(userId: string, grants: SessionGrants, at: Date): Promise<number>;

  /** Sessions revoked at or after `since` (what a revocation cache needs after a gap). */
  listRevokedSince(since: Date): Promise<SessionRevocation[]>;

  /**
   * Opens the change feed: every revocation made through any store on the same backend
   * (every app instance) reaches `listener.revoked` promptly, every `updateUserSessions`
   * reaches `listener.userChanged`, and `listener.resync` is
   * called on every (re)connect, the first included. Resolves once the feed listens;
   * it must reconnect by itself after losing its connection.
   */
  watchRevocations(listener: RevocationFeedListener): Promise<RevocationFeedSubscription>;

  /**
   * Deletes at most `limit` sessions that expired, or were revoked, before `cutoff`, in
   * one short operation (no long lock or transaction); returns how many it deleted.
   * Live sessions are never touched.
   */
  deleteExpired(cutoff: Date, limit: number): Promise<number>;

  /**
   * Tries to take the cluster-wide cleanup lock without waiting; null when another
   * instance holds it. Only the holder runs the cleanup.
   */
  acquireCleanupLock(): Promise<CleanupLock | null>;

  /**
   * Optional: how many sessions are live at `now` (neither revoked nor expired), for the
   * `tessera.sessions.live` gauge, which samples it once per
   * `telemetry.liveSessionsSampleInterval`. It should be cheap (an index count).
   */
  countLiveSessions?(now: Date): Promise<number>;

  /** Optional: the state of the revocation feed this store opened, for health checks and the `tessera.revocation_feed.connected` gauge. */
  feedStatus?(): SessionFeedStatus;
}

/** What a session grants its user: the roles and custom claims of its access tokens. */
export interface SessionGrants {
  roles: string[];
  claims: StoredClaims;
}

/** A revocation, as `listRevokedSince` reports it. */
export interface SessionRevocation {
  sessionId: string;
  revokedAt: Date;
}

/** Receives a store's revocation feed. */
export interface RevocationFeedListener {
  /** These sessions were just revoked, by this instance or any other. */
  revoked(sessionIds: string[]): void;
  /**
   * The feed has (re)connected, the first time included: revocations made while it
   * was down were not delivered, so the listener should read them with `listRevokedSince`.
   */
  resync(): void;
  /**
   * These users' roles or claims changed (`updateUserSessions`, on this instance or any
   * other): whatever an instance remembers about them is stale.
   */
  userChanged(userIds: string[]): void;
  /**
   * Optional, for the `tessera.revocation.propagation.lag` metric only: when the store
   * committed the revocation of a session that `revoked` delivers (or delivered), on the
   * backend's clock. A store that cannot tell never calls it; nothing else relies on it.
   */
  committed?(sessionId: string, committedAt: Date): void;
}

/** An open revocation feed. */
export interface RevocationFeedSubscription {
  /** Stops the feed and releases its connection. */
  close(): Promise<void>;
}

/** A cluster-wide lock held by the instance running the cleanup. */
export interface CleanupLock {
  /** Releases the lock. */
  release(): Promise<void>;
}

/** Injection token for the configured `SessionStore`. */
export const SessionStore = Symbol('SessionStore');
