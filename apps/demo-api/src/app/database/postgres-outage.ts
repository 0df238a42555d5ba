/**
 * SQLSTATEs of a server that cannot serve now: connection exceptions (class 08), shutting
 * down or starting up (57P01-57P03), too many connections (53300), a query cancelled by
 * statement_timeout (57014).
 */
const OUTAGE_STATES = /^(08...|57P0[1-3]|53300|57014)$/;
/** Node's network errors. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** What node-postgres says, without a code, when a connection is lost or never comes. */
const DRIVER_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection is not established|Cannot use a pool after calling end/i;

/**
 * Whether a PostgreSQL call's failure is an outage (unreachable, lost, overloaded), not a
 * bug or bad input: what `SessionStoreUnavailableError` is for. Looks through TypeORM's
 * `QueryFailedError` to the driver's error.
 */
export function isPostgresOutage(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 3; depth += 1) {
    const { code } = current as Error & { code?: unknown };
    if (typeof code === 'string' && (OUTAGE_STATES.test(code) || NETWORK_CODES.has(code))) return true;
    if (DRIVER_MESSAGES.test(current.message)) return true;
    current = (current as Error & { driverError?: unknown }).driverError ?? current.cause;
  }
  return false;
}
