import { Inject, Injectable } from '@nestjs/common';
import { SessionStore } from '../interfaces/session-store.interface';
import type { SessionGrants, SessionRecord } from '../interfaces/session-store.interface';
import type { IssuedUser, SessionUser } from '../interfaces/session.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { BoundedMap } from '../utils/bounded-map';
import { SessionClaimsError, checkedClaims, sameClaims } from '../utils/claims.util';

/** A `resolveUser` answer, and whether it came from this instance's cache. */
export interface ResolvedUser {
  /** The user; null when the hook answered null or undefined (the user is gone). */
  user: SessionUser | null;
  /** True when reused from the cache (it may predate a change made on another instance just now). */
  cached: boolean;
}

/** One `resolveUser` answer and when it was given. */
interface ResolvedEntry {
  user: SessionUser | null;
  atMs: number;
}

/** A session with its user's current grants, and the user as responses show them. */
export interface CurrentSessionUser {
  session: SessionRecord;
  user: IssuedUser;
}

/**
 * What users are granted: the roles and checked custom claims of a user (`grantsOf`),
 * and at a refresh, the session with its user's current grants (`current`). Asks the
 * app's `resolveUser` hook who a user is now, and (with `userCache.ttl`)
 * reuses the answer on this instance for a while. An entry is dropped on every instance
 * as soon as `SessionService.refreshUser` announces a change through the store's change
 * feed (`forget`), and everything is dropped when the feed reconnects (`forgetAll`),
 * since announcements sent while it was down are lost.
 */
@Injectable()
export class SessionUsers {
  private readonly cache: BoundedMap<string, ResolvedEntry>;
  // Bumped by every forget: an answer asked for before it may be stale, so it is not kept.
  private version = 0;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SessionStore) private readonly store: SessionStore,
  ) {
    this.cache = new BoundedMap(options.userCache.ttlMs > 0 ? options.userCache.size : 0);
  }

  /** Whether the app gave a `resolveUser` hook. */
  get enabled(): boolean {
    return this.options.resolveUser !== undefined;
  }

  /** Whether answers are reused (so this instance must hear of changes made elsewhere). */
  get caching(): boolean {
    return this.enabled && this.options.userCache.ttlMs > 0 && this.options.userCache.size > 0;
  }

  /**
   * The user as `resolveUser` describes them now; null for a user that is gone.
   * `fresh` skips the cache (a change is being made, or a cached answer looked stale).
   */
  async resolve(userId: string, fresh = false): Promise<ResolvedUser> {
    const resolveUser = this.options.resolveUser;
    if (!resolveUser) throw new Error('SessionUsers.resolve needs the "resolveUser" option');
    const nowMs = this.options.clock.now().getTime();
    if (!fresh) {
      const known = this.cache.get(userId);
      if (known && nowMs - known.atMs < this.options.userCache.ttlMs) return { user: known.user, cached: true };
    }
    const version = this.version;
    const user = (await resolveUser(userId)) ?? null;
    if (this.caching && version === this.version) this.cache.set(userId, { user, atMs: nowMs });
    return { user, cached: false };
  }

  /**
   * The roles and claims a user's sessions carry: `roles` as given, `claims` from the
   * app's `claims` function, checked (`SessionClaimsError` for a reserved name, a value
   * that is not JSON, or more than 1 kB).
   */
  grantsOf(user: SessionUser): SessionGrants {
    const roles = user.roles ?? [];
    if (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string')) {
      throw new SessionClaimsError('SessionUser "roles" must be an array of strings.');
    }
    return { roles: [...roles], claims: this.options.claims ? checkedClaims(this.options.claims(user)) : {} };
  }

  /**
   * The session with its user's current roles and claims (`resolveUser`), written to the
   * store when they changed; without the hook, the session as it is. Null for a user that
   * is gone or disabled (the caller ends the session).
   */
  async current(record: SessionRecord, now: Date): Promise<CurrentSessionUser | null> {
    if (!this.enabled) return { session: record, user: { id: record.userId, roles: [...record.roles] } };
    let resolved = await this.resolve(record.userId);
    let grants = this.liveGrants(resolved.user);
    // A remembered answer that disagrees with the store may predate a change another
    // instance just made: ask again rather than write a stale one back.
    if (resolved.cached && (!grants || !sameGrants(record, grants))) {
      resolved = await this.resolve(record.userId, true);
      grants = this.liveGrants(resolved.user);
    }
    if (!resolved.user || !grants) return null;
    let session = record;
    if (!sameGrants(record, grants)) {
      // Changed without refreshUser: every live session of the user takes the change (and
      // every instance hears of it). An answer read just before a concurrent change could
      // write older grants back; the next refresh, asking again, corrects them.
      await this.store.updateUserSessions(record.userId, grants, now);
      session = { ...record, roles: grants.roles, claims: grants.claims };
    }
    return { session, user: { id: record.userId, roles: grants.roles, profile: resolved.user.profile } };
  }

  /** Grants of a live user; undefined for one that is gone or disabled. */
  private liveGrants(user: SessionUser | null): SessionGrants | undefined {
    return user && user.disabled !== true ? this.grantsOf(user) : undefined;
  }

  /** Drops what this instance remembers about these users. */
  forget(userIds: Iterable<string>): void {
    this.version += 1;
    for (const id of userIds) this.cache.delete(id);
  }

  /** Drops everything (the change feed reconnected: announcements may have been missed). */
  forgetAll(): void {
    this.version += 1;
    this.cache.clear();
  }
}

/** Whether a session already carries these roles (in order) and claims. */
function sameGrants(session: SessionGrants, grants: SessionGrants): boolean {
  return (
    session.roles.length === grants.roles.length &&
    session.roles.every((role, index) => role === grants.roles[index]) &&
    sameClaims(session.claims, grants.claims)
  );
}
