import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';

/**
 * The pg pool of the data source's primary (or only) server, the one every query of the
 * app goes through; `undefined` before `DataSource.initialize()` or on a driver without
 * one. TypeORM keeps it as `master` on its PostgresDriver, not a public API: this is the
 * only place that reads it.
 */
export function dataSourcePool(dataSource: DataSource): Pool | undefined {
  return (dataSource.driver as unknown as { master?: Pool }).master;
}
