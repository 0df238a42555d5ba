import { SessionStoreUnavailableError } from '../../src/lib/exceptions/session-store-unavailable.error';
import type {
  CleanupLock,
  RefreshRotation,
  RevocationFeedListener,
  RevocationFeedSubscription,
  RevocationReason,
  SessionGrants,
  SessionRecord,
  SessionRevocation,
} from '../../src/lib/interfaces/session-store.interface';
import { InMemorySessionStore } from '../../src/lib/stores/in-memory-session.store';

/**
 * The in-memory store with an outage switch: while `down`, every call rejects with
 * `SessionStoreUnavailableError` (what a real store throws when its backend is unreachable)
 * and changes nothing; `refused` lists the calls refused, so a spec can tell that a path
 * really reached the store.
 */
export class OutageSessionStore extends InMemorySessionStore {
  down = false;
  readonly refused: string[] = [];

  override async create(session: SessionRecord): Promise<void> {
    this.check('create');
    return super.create(session);
  }

  override async findById(id: string): Promise<SessionRecord | null> {
    this.check('findById');
    return super.findById(id);
  }

  override async rotateRefresh(id: string, rotation: RefreshRotation): Promise<SessionRecord | null> {
    this.check('rotateRefresh');
    return super.rotateRefresh(id, rotation);
  }

  override async touch(id: string, at: Date, expiresAt: Date): Promise<boolean> {
    this.check('touch');
    return super.touch(id, at, expiresAt);
  }

  override async revoke(id: string, reason: RevocationReason, at: Date): Promise<boolean> {
    this.check('revoke');
    return super.revoke(id, reason, at);
  }

  override async reissue(oldId: string, successor: SessionRecord, reason: RevocationReason, at: Date): Promise<boolean> {
    this.check('reissue');
    return super.reissue(oldId, successor, reason, at);
  }

  override async listByUser(userId: string, now: Date): Promise<SessionRecord[]> {
    this.check('listByUser');
    return super.listByUser(userId, now);
  }

  override async revokeByUser(userId: string, reason: RevocationReason, at: Date, exceptId?: string): Promise<string[]> {
    this.check('revokeByUser');
    return super.revokeByUser(userId, reason, at, exceptId);
  }

  override async updateUserSessions(userId: string, grants: SessionGrants, at: Date): Promise<number> {
    this.check('updateUserSessions');
    return super.updateUserSessions(userId, grants, at);
  }

  override async listRevokedSince(since: Date): Promise<SessionRevocation[]> {
    this.check('listRevokedSince');
    return super.listRevokedSince(since);
  }

  override async watchRevocations(listener: RevocationFeedListener): Promise<RevocationFeedSubscription> {
    this.check('watchRevocations');
    return super.watchRevocations(listener);
  }

  override async deleteExpired(cutoff: Date, limit: number): Promise<number> {
    this.check('deleteExpired');
    return super.deleteExpired(cutoff, limit);
  }

  override async acquireCleanupLock(): Promise<CleanupLock | null> {
    this.check('acquireCleanupLock');
    return super.acquireCleanupLock();
  }

  private check(call: string): void {
    if (!this.down) return;
    this.refused.push(call);
    throw new SessionStoreUnavailableError('connect ECONNREFUSED (test outage)');
  }
}
