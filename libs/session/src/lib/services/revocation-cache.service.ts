import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SessionStore } from '../interfaces/session-store.interface';
import type { RevocationFeedSubscription } from '../interfaces/session-store.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { SessionUsers } from './session-users.service';
import { SessionTelemetry } from '../telemetry/session-telemetry';

const RESYNC_RETRY_MS = 1_000;

/**
 * Told of revoked sessions: each revocation the feed announces (made by any instance), each
 * made by this instance, and, after every (re)connect of the feed, every revocation of the
 * last access-token lifetime again (so one missed while the feed was down still arrives;
 * an older one can no longer matter, as every access token of such a session has expired).
 * An id may come more than once.
 */
export type RevocationListener = (sessionIds: readonly string[]) => void;

/**
 * `cached` revocation mode: the ids of sessions revoked within the last access-token
 * lifetime, in memory, fed by the store's change feed. Older entries are dropped, since
 * every access token of such a session has expired anyway, so memory stays bounded by
 * the revocation rate. On every (re)connect of the feed it re-reads recent revocations
 * from the store, so one missed during an outage never leaves a revoked session usable.
 * It also tells `onRevoked` listeners (`SessionSockets`, which closes revoked sessions'
 * sockets) of every revocation, in any mode: the feed opens for them too.
 */
@Injectable()
export class RevocationCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly revoked = new Map<string, number>();
  private readonly logger = new Logger('RevocationCache');
  private subscription: RevocationFeedSubscription | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private resyncing: Promise<void> | undefined;
  private closed = false;
  private bootstrapped = false;
  private opening: Promise<void> | undefined;
  private readonly listeners = new Set<RevocationListener>();

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SessionStore) private readonly store: SessionStore,
    private readonly users: SessionUsers,
    private readonly telemetry: SessionTelemetry,
  ) {}

  /** How long an entry matters: an access token's lifetime plus the clock-skew leeway. */
  get windowMs(): number {
    return this.options.accessTokenTtlMs + this.options.clockSkewMs;
  }

  /**
   * Opens the feed and loads recent revocations before the app serves requests. The feed
   * is also what tells this instance that a user changed elsewhere (`refreshUser`), so it
   * opens whenever `resolveUser` answers are cached, and whenever a listener is registered
   * (sockets are tracked), whatever the mode.
   */
  async onApplicationBootstrap(): Promise<void> {
    this.bootstrapped = true;
    const cached = this.options.revocationMode === 'cached';
    if (!cached && !this.users.caching && this.listeners.size === 0) return;
    await this.openFeed();
    if (!cached) return;
    this.sweepTimer = setInterval(() => this.sweep(), Math.min(this.windowMs, 60_000));
    this.sweepTimer.unref();
  }

  /**
   * Calls `listener` with every revocation from now on (see `RevocationListener`); returns
   * a function that removes it. Opens the feed if it is not open yet, whatever the mode.
   */
  onRevoked(listener: RevocationListener): () => void {
    this.listeners.add(listener);
    // Before bootstrap (a gateway's afterInit), onApplicationBootstrap opens it.
    if (this.bootstrapped && !this.subscription && !this.closed) {
      this.openFeed().catch((error: unknown) => {
        this.logger.warn(`Could not open the revocation feed (${error instanceof Error ? error.name : typeof error})`);
      });
    }
    return () => this.listeners.delete(listener);
  }

  /** Opens the store's feed once, and loads recent revocations (`resync` retries until it succeeds). */
  private openFeed(): Promise<void> {
    this.opening ??= (async () => {
      const subscription = await this.store.watchRevocations({
        revoked: (ids) => this.add(ids),
        resync: () => {
          // Announcements sent while the feed was down are lost: nothing remembered can be trusted.
          this.users.forgetAll();
          void this.resync();
        },
        userChanged: (ids) => this.users.forget(ids),
        // Only when the lag is measured: a store may listen for it on a channel of its own.
        ...(this.telemetry.metricsEnabled
          ? { committed: (_id: string, committedAt: Date) => this.telemetry.revocationHeard(committedAt) }
          : {}),
      });
      if (this.closed) {
        await subscription.close();
        return;
      }
      this.subscription = subscription;
      await this.resync();
    })().catch((error: unknown) => {
      this.opening = undefined;
      throw error;
    });
    return this.opening;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.retryTimer);
    await this.subscription?.close();
  }

  /** Whether the session was revoked within the window. */
  has(sessionId: string): boolean {
    return this.revoked.has(sessionId);
  }

  /**
   * Records revocations (from the feed, or made by this instance) and tells the listeners.
   * Only `cached` mode reads the records, and only there does the sweep bound the map, so
   * other modes keep nothing.
   */
  add(sessionIds: Iterable<string>, atMs = this.options.clock.now().getTime()): void {
    if (this.listeners.size === 0) {
      this.record(sessionIds, atMs);
      return;
    }
    const ids = [...sessionIds];
    this.record(ids, atMs);
    this.tell(ids);
  }

  private record(sessionIds: Iterable<string>, atMs: number): void {
    if (this.options.revocationMode !== 'cached') return;
    for (const id of sessionIds) {
      const known = this.revoked.get(id);
      if (known === undefined || known < atMs) this.revoked.set(id, atMs);
    }
  }

  private tell(ids: readonly string[]): void {
    if (ids.length === 0) return;
    for (const listener of this.listeners) {
      try {
        listener(ids);
      } catch (error) {
        this.logger.warn(`A revocation listener failed (${error instanceof Error ? error.name : typeof error})`);
      }
    }
  }

  /** Number of entries (for tests and metrics). */
  get size(): number {
    return this.revoked.size;
  }

  /** Re-reads the revocations of the window from the store; retries until it succeeds. */
  resync(): Promise<void> {
    this.resyncing ??= this.load().finally(() => {
      this.resyncing = undefined;
    });
    return this.resyncing;
  }

  private async load(): Promise<void> {
    if (this.closed || (this.options.revocationMode !== 'cached' && this.listeners.size === 0)) return;
    const now = this.options.clock.now().getTime();
    try {
      const recent = await this.store.listRevokedSince(new Date(now - this.windowMs));
      // Stamp with our clock at the latest of both: another instance's clock may lag.
      for (const entry of recent) this.record([entry.sessionId], Math.max(entry.revokedAt.getTime(), now));
      // Listeners hear of each once, in one call.
      if (this.listeners.size > 0) this.tell(recent.map((entry) => entry.sessionId));
    } catch (error) {
      this.logger.warn(`Resync failed (${error instanceof Error ? error.name : typeof error}); retrying`);
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => void this.resync(), RESYNC_RETRY_MS);
      this.retryTimer.unref();
    }
  }

  /** Drops entries older than the window (runs on a timer; public for tests). */
  sweep(): void {
    const oldest = this.options.clock.now().getTime() - this.windowMs;
    for (const [id, at] of this.revoked) if (at < oldest) this.revoked.delete(id);
  }
}
