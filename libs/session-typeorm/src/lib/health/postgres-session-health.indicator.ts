import { Injectable } from '@nestjs/common';
import type { HealthIndicatorResult } from '@nestjs/terminus';
import { PostgresSessionStore } from '../stores/postgres-session.store';

/** Options of `PostgresSessionHealthIndicator.isHealthy`. */
export interface SessionHealthCheckOptions {
  /** Longest wait for the store's round trip; slower counts as down. Default: 2000 ms. */
  timeoutMs?: number;
  /**
   * Down when the revocation feed has shown no sign of life (connect, event, heartbeat) for
   * longer than this. Default: no limit (the staleness is reported, not judged).
   */
  maxFeedStalenessMs?: number;
  /** Down when no revocation feed is open (an app in `cached` mode always opens one). Default: false. */
  requireFeed?: boolean;
}

/** The data of the indicator's result, besides `status`. */
export interface SessionHealthDetails {
  /** The store answered a `SELECT 1` within the timeout. */
  store: 'up' | 'down';
  /** The revocation feed: `not_open` when the app opened none. */
  feed: 'connected' | 'disconnected' | 'not_open';
  /** Milliseconds since the feed's last sign of life; null when it has none. */
  feedStalenessMs: number | null;
}

const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * A `@nestjs/terminus` health indicator for the PostgreSQL session store: the store is
 * reachable (one `SELECT 1` with a timeout), its revocation feed (`LISTEN`) is connected,
 * and how long ago the feed last showed a sign of life. `@nestjs/terminus` is an optional
 * peer, loaded on the first check, never when this package loads. Provide it where
 * `PostgresSessionStore` can be injected, and use it in a `HealthCheckService.check`:
 * `() => indicator.isHealthy('sessions')`.
 */
@Injectable()
export class PostgresSessionHealthIndicator {
  constructor(private readonly store: PostgresSessionStore) {}

  /** `{ [key]: { status, store, feed, feedStalenessMs } }`, `down` when the store or the feed is. */
  async isHealthy<const Key extends string>(key: Key, options: SessionHealthCheckOptions = {}): Promise<HealthIndicatorResult<Key>> {
    const { HealthIndicatorService } = await import('@nestjs/terminus');
    const indicator = new HealthIndicatorService().check(key);
    const details = await sessionHealthDetails(() => this.store.ping(), this.store.feedStatus(), options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return healthy(details, options) ? indicator.up({ ...details }) : indicator.down({ ...details });
  }
}

/** Whether the details pass the options' rules. */
export function healthy(details: SessionHealthDetails, options: SessionHealthCheckOptions): boolean {
  if (details.store === 'down' || details.feed === 'disconnected') return false;
  if (details.feed === 'not_open') return options.requireFeed !== true;
  const limit = options.maxFeedStalenessMs;
  return limit === undefined || (details.feedStalenessMs !== null && details.feedStalenessMs <= limit);
}

/** Runs the round trip with a timeout and reads the feed's status. */
export async function sessionHealthDetails(
  ping: () => Promise<unknown>,
  feed: { open: boolean; connected: boolean; lastActivityAt: Date | null },
  timeoutMs: number,
): Promise<SessionHealthDetails> {
  let timer: NodeJS.Timeout | undefined;
  let store: 'up' | 'down' = 'up';
  try {
    await Promise.race([
      ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
  } catch {
    store = 'down';
  } finally {
    clearTimeout(timer);
  }
  return {
    store,
    feed: !feed.open ? 'not_open' : feed.connected ? 'connected' : 'disconnected',
    feedStalenessMs: feed.open && feed.lastActivityAt ? Math.max(0, Date.now() - feed.lastActivityAt.getTime()) : null,
  };
}
