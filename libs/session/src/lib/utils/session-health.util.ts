// What a store's health indicator reports, without @nestjs/terminus: each store package
// wraps it in a terminus indicator of its own (terminus stays an optional peer of the stores,
// and the core never loads it).

/** Options of a session store's health indicator (`PostgresSessionHealthIndicator`, `RedisSessionHealthIndicator`). */
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

/** The data of a store health indicator's result, besides `status`. */
export interface SessionHealthDetails {
  /** The store answered a round trip within the timeout. */
  store: 'up' | 'down';
  /** The revocation feed: `not_open` when the app opened none. */
  feed: 'connected' | 'disconnected' | 'not_open';
  /** Milliseconds since the feed's last sign of life; null when it has none. */
  feedStalenessMs: number | null;
}

/** What a store knows of its revocation feed, for health checks. */
export interface SessionFeedStatus {
  /** Whether the app opened a feed (`cached` mode, or a listener such as `SessionSockets`). */
  open: boolean;
  /** Whether its connection is up now. */
  connected: boolean;
  /** Its last sign of life (connect, event, heartbeat); null when none yet. */
  lastActivityAt: Date | null;
}

/**
 * What a store health indicator's `isHealthy(key)` resolves to: terminus's
 * `HealthIndicatorResult` for that key, spelled out here so that the stores' type
 * declarations never name `@nestjs/terminus` (an optional peer an app may not have).
 */
export type SessionHealthIndicatorResult<Key extends string> = {
  [K in Key]: SessionHealthDetails & { status: 'up' | 'down' };
};

/** The default of `SessionHealthCheckOptions.timeoutMs`. */
export const SESSION_HEALTH_TIMEOUT_MS = 2_000;

/** Whether the details pass the options' rules. */
export function isSessionHealthy(details: SessionHealthDetails, options: SessionHealthCheckOptions): boolean {
  if (details.store === 'down' || details.feed === 'disconnected') return false;
  if (details.feed === 'not_open') return options.requireFeed !== true;
  const limit = options.maxFeedStalenessMs;
  return limit === undefined || (details.feedStalenessMs !== null && details.feedStalenessMs <= limit);
}

/** Runs the store's round trip with a timeout and reads its feed's status. */
export async function sessionHealthDetails(
  ping: () => Promise<unknown>,
  feed: SessionFeedStatus,
  timeoutMs: number = SESSION_HEALTH_TIMEOUT_MS,
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
