import { Inject, Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown } from '@nestjs/common';
import { SessionStore } from '../interfaces/session-store.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { BoundedMap } from '../utils/bounded-map';

const MAX_TRACKED = 50_000;

/**
 * Records session activity (`lastSeenAt`, sliding idle expiry) without a database
 * write per request: at most one `touch` per session per `activityInterval` per
 * instance, started in the background and never awaited by the request.
 */
@Injectable()
export class SessionActivityService implements BeforeApplicationShutdown {
  private readonly lastWritten = new BoundedMap<string, number>(MAX_TRACKED);
  private readonly pending = new Set<Promise<unknown>>();
  private readonly logger = new Logger('SessionActivity');

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SessionStore) private readonly store: SessionStore,
  ) {}

  /** Notes that a session was used now; writes only when the last write is older than the interval. */
  record(sessionId: string): void {
    const now = this.options.clock.now().getTime();
    const last = this.lastWritten.get(sessionId);
    if (last !== undefined && now - last < this.options.activityIntervalMs) return;
    if (last === undefined && this.lastWritten.isFull) this.forgetOld(now);
    // Still full (every entry is recent): the oldest goes rather than grow without bound.
    this.lastWritten.set(sessionId, now);
    const write = this.touch(sessionId, now)
      .catch((error: unknown) => {
        // Fail open: a missed activity record only makes the idle timeout stricter.
        this.logger.warn(`Could not record session activity (${error instanceof Error ? error.name : typeof error})`);
      })
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Lets in-flight writes finish before the store's connections close. */
  async beforeApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** The store's `touch`, as a promise even when a store throws instead of rejecting (an outage must not fail the request). */
  private async touch(sessionId: string, now: number): Promise<void> {
    await this.store.touch(sessionId, new Date(now), new Date(now + this.options.idleTimeoutMs));
  }

  /** Forgets the sessions whose last write is older than the interval (their next use writes anyway). */
  private forgetOld(now: number): void {
    for (const [id, at] of this.lastWritten) {
      if (now - at >= this.options.activityIntervalMs) this.lastWritten.delete(id);
    }
  }
}
