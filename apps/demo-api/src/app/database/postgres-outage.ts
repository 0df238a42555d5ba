import { SessionStoreUnavailableError } from '@tessera/session';
import { isPostgresOutage } from '@tessera/session-typeorm';

/**
 * The demo classifies its own PostgreSQL failures (users, login attempts, audit) exactly as
 * the session store does: one function, in `@tessera/session-typeorm`.
 */
export { isPostgresOutage } from '@tessera/session-typeorm';

/**
 * `error` as a `SessionStoreUnavailableError` when it is a PostgreSQL outage (the users and
 * the audit trail live there: while it is down, a route that needs them answers `503
 * store_unavailable`, never 500 and never a 401 for a session that may be valid); undefined
 * for anything else. The message names what was being done, never SQL or parameters.
 */
export function databaseOutageOf(error: unknown, what = 'database'): SessionStoreUnavailableError | undefined {
  if (error instanceof SessionStoreUnavailableError) return error;
  return isPostgresOutage(error) ? new SessionStoreUnavailableError(`PostgreSQL cannot be reached (${what})`, { cause: error }) : undefined;
}

/** Awaits a call on the demo's database, rethrowing an outage as `SessionStoreUnavailableError` (see `databaseOutageOf`). */
export async function onDatabase<T>(what: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    throw databaseOutageOf(error, what) ?? error;
  }
}
