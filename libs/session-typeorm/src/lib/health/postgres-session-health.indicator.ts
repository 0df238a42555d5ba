import { Injectable } from '@nestjs/common';
import { isSessionHealthy, sessionHealthDetails } from '@tessera/session';
import type { SessionHealthCheckOptions, SessionHealthIndicatorResult } from '@tessera/session';
import { PostgresSessionStore } from '../stores/postgres-session.store';

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
  async isHealthy<const Key extends string>(key: Key, options: SessionHealthCheckOptions = {}): Promise<SessionHealthIndicatorResult<Key>> {
    const { HealthIndicatorService } = await import('@nestjs/terminus');
    const indicator = new HealthIndicatorService().check(key);
    const details = await sessionHealthDetails(() => this.store.ping(), this.store.feedStatus(), options.timeoutMs);
    const result = isSessionHealthy(details, options) ? indicator.up({ ...details }) : indicator.down({ ...details });
    // Terminus's own result (`{ [key]: { status, ...details } }`), typed without naming terminus.
    return result as unknown as SessionHealthIndicatorResult<Key>;
  }
}
