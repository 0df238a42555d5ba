import type {
  CleanupLock,
  RefreshRotation,
  RevocationFeedListener,
  RevocationFeedSubscription,
  RevocationReason,
  SessionGrants,
  SessionRecord,
  SessionRevocation,
  SessionStore,
} from '../interfaces/session-store.interface';
import type { SessionFeedStatus } from '../utils/session-health.util';

function copy(record: SessionRecord): SessionRecord {
  return { ...record, roles: [...record.roles], claims: structuredClone(record.claims) };
}

function isLive(record: SessionRecord, now: Date): boolean {
  return record.revokedAt === null && record.expiresAt.getTime() > now.getTime();
}

/**
 * A `SessionStore` in process memory, for tests and single-process apps. Every
 * method runs synchronously inside the promise, so each one is atomic. Sessions
 * are lost on restart and are not shared between processes.
 */
export class InMemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionRecord>();
  private readonly watchers = new Set<RevocationFeedListener>();
  private cleanupLocked = false;

  async create(session: SessionRecord): Promise<void> {
    if (this.sessions.has(session.id)) throw new Error('Session id already exists');
    this.sessions.set(session.id, copy(session));
  }

  async findById(id: string): Promise<SessionRecord | null> {
    const record = this.sessions.get(id);
    return record ? copy(record) : null;
  }

  async rotateRefresh(id: string, rotation: RefreshRotation): Promise<SessionRecord | null> {
    const record = this.sessions.get(id);
    if (!record || !isLive(record, rotation.now) || record.refreshHash !== rotation.expectedRefreshHash) {
      return null;
    }
    record.previousRefreshHash = record.refreshHash;
    record.refreshHash = rotation.refreshHash;
    record.generation += 1;
    record.rotatedAt = rotation.now;
    record.lastSeenAt = rotation.now;
    record.expiresAt = new Date(Math.min(rotation.expiresAt.getTime(), record.absoluteExpiresAt.getTime()));
    return copy(record);
  }

  async touch(id: string, at: Date, expiresAt: Date): Promise<boolean> {
    const record = this.sessions.get(id);
    if (!record || !isLive(record, at)) return false;
    const capped = Math.min(expiresAt.getTime(), record.absoluteExpiresAt.getTime());
    if (at.getTime() > record.lastSeenAt.getTime()) record.lastSeenAt = at;
    if (capped > record.expiresAt.getTime()) record.expiresAt = new Date(capped);
    return true;
  }

  async markAuthenticated(id: string, at: Date): Promise<SessionRecord | null> {
    const record = this.sessions.get(id);
    if (!record || !isLive(record, at)) return null;
    if (at.getTime() > record.authenticatedAt.getTime()) record.authenticatedAt = at;
    return copy(record);
  }

  async revoke(id: string, reason: RevocationReason, at: Date): Promise<boolean> {
    const record = this.sessions.get(id);
    if (!record || record.revokedAt !== null) return false;
    record.revokedAt = at;
    record.revokedReason = reason;
    this.announce([id]);
    return true;
  }

  async reissue(oldId: string, successor: SessionRecord, reason: RevocationReason, at: Date): Promise<boolean> {
    const record = this.sessions.get(oldId);
    if (!record || record.userId !== successor.userId || !isLive(record, at)) return false;
    if (this.sessions.has(successor.id)) throw new Error('Session id already exists');
    record.revokedAt = at;
    record.revokedReason = reason;
    // The successor keeps the old session's grants as they are now (see SessionStore.reissue).
    this.sessions.set(successor.id, { ...copy(successor), roles: [...record.roles], claims: structuredClone(record.claims) });
    this.announce([oldId]);
    return true;
  }

  async listByUser(userId: string, now: Date): Promise<SessionRecord[]> {
    return [...this.sessions.values()]
      .filter((record) => record.userId === userId && isLive(record, now))
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id))
      .map(copy);
  }

  async revokeByUser(userId: string, reason: RevocationReason, at: Date, exceptId?: string): Promise<string[]> {
    const revoked: string[] = [];
    for (const record of this.sessions.values()) {
      if (record.userId === userId && record.id !== exceptId && record.revokedAt === null) {
        record.revokedAt = at;
        record.revokedReason = reason;
        revoked.push(record.id);
      }
    }
    if (revoked.length > 0) this.announce(revoked);
    return revoked;
  }

  async updateUserSessions(userId: string, grants: SessionGrants, at: Date): Promise<number> {
    let updated = 0;
    for (const record of this.sessions.values()) {
      if (record.userId === userId && isLive(record, at)) {
        record.roles = [...grants.roles];
        record.claims = structuredClone(grants.claims);
        updated += 1;
      }
    }
    for (const watcher of this.watchers) queueMicrotask(() => watcher.userChanged([userId]));
    return updated;
  }

  async listRevokedSince(since: Date): Promise<SessionRevocation[]> {
    return [...this.sessions.values()]
      .filter((record) => record.revokedAt !== null && record.revokedAt.getTime() >= since.getTime())
      .map((record) => ({ sessionId: record.id, revokedAt: record.revokedAt as Date }));
  }

  async watchRevocations(listener: RevocationFeedListener): Promise<RevocationFeedSubscription> {
    this.watchers.add(listener);
    queueMicrotask(() => listener.resync());
    return {
      close: async () => {
        this.watchers.delete(listener);
      },
    };
  }

  async deleteExpired(cutoff: Date, limit: number): Promise<number> {
    let deleted = 0;
    for (const [id, record] of this.sessions) {
      if (deleted >= limit) break;
      const gone =
        record.expiresAt.getTime() < cutoff.getTime() ||
        (record.revokedAt !== null && record.revokedAt.getTime() < cutoff.getTime());
      if (gone) {
        this.sessions.delete(id);
        deleted += 1;
      }
    }
    return deleted;
  }

  async acquireCleanupLock(): Promise<CleanupLock | null> {
    if (this.cleanupLocked) return null;
    this.cleanupLocked = true;
    return {
      release: async () => {
        this.cleanupLocked = false;
      },
    };
  }

  async countLiveSessions(now: Date): Promise<number> {
    let live = 0;
    for (const record of this.sessions.values()) {
      if (isLive(record, now) && record.absoluteExpiresAt.getTime() > now.getTime()) live += 1;
    }
    return live;
  }

  /** The feed is in-process: open while a listener watches, and always connected then. */
  feedStatus(): SessionFeedStatus {
    const open = this.watchers.size > 0;
    return { open, connected: open, lastActivityAt: open ? new Date() : null };
  }

  /** Delivers after the current operation, like a database notification after commit. */
  private announce(ids: string[]): void {
    // Wall-clock commit time (the injected clock may be a test's): only the lag metric reads it.
    const committedAt = new Date();
    for (const watcher of this.watchers) {
      queueMicrotask(() => {
        watcher.revoked([...ids]);
        if (watcher.committed) for (const id of ids) watcher.committed(id, committedAt);
      });
    }
  }
}
