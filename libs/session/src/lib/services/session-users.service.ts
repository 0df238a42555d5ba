import { Inject, Injectable } from '@nestjs/common';
import type { SessionUser } from '../interfaces/session.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { BoundedMap } from '../utils/bounded-map';

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

/**
 * Asks the app's `resolveUser` hook who a user is now, and (with `userCache.ttl`)
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

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions) {
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
