export * from './lib/entities/session.entity';
export * from './lib/migrations';
export * from './lib/stores/postgres-session.store';
export * from './lib/stores/postgres-revocation-feed';
export { isPostgresOutage } from './lib/stores/postgres-outage';
export * from './lib/session-typeorm.module';
export { PostgresSessionHealthIndicator } from './lib/health/postgres-session-health.indicator';
export type { SessionHealthCheckOptions, SessionHealthDetails } from '@tessera/session';

import { SessionEntity } from './lib/entities/session.entity';

/** Entities of this adapter; add them to your DataSource's `entities` (or use `autoLoadEntities`). */
export const sessionEntities = [SessionEntity];
