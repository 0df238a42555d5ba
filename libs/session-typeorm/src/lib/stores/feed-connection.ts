import type { ClientConfig, Pool } from 'pg';

/** Connect timeout of the feed when the data source sets none (pg's default is to wait forever). */
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

const NO_POOL_MESSAGE =
  'The revocation feed needs an initialized PostgreSQL data source: call watchRevocations after ' +
  'DataSource.initialize() (TypeOrmModule does this before the app starts).';

/**
 * Connection settings of the revocation feed: a copy of the settings of the store's pg
 * pool (by default the data source's own; see `dataSourcePool`). TypeORM built them
 * from `url`/`host`/`port`/`username`/`password`/`database`/`ssl` (of `replication.master`
 * when replication is on), `connectTimeoutMS`, `applicationName` and `extra` (`extra.ssl`, a primary
 * named only under `replication`: the feed must connect exactly as the pool does), and pg-pool hands
 * these very settings to each client it opens. The copy keeps property descriptors:
 * pg-pool hides the password (non-enumerable), which a spread would drop.
 */
export function feedConnectionConfig(pool: Pool | undefined): ClientConfig {
  if (!pool?.options) throw new Error(NO_POOL_MESSAGE);
  const config = Object.defineProperties({}, Object.getOwnPropertyDescriptors(pool.options)) as ClientConfig;
  if (!config.connectionTimeoutMillis) config.connectionTimeoutMillis = DEFAULT_CONNECT_TIMEOUT_MS;
  return config;
}
