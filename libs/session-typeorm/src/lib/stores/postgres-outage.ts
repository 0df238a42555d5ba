import { SessionStoreUnavailableError } from '@tessera/session';

/**
 * SQLSTATEs of a server that cannot serve now: connection exceptions (class 08), shutting
 * down or starting up (57P01 admin_shutdown, 57P02 crash_shutdown, 57P03
 * cannot_connect_now), too many connections (53300), a statement cancelled by
 * `statement_timeout` (57014). Constraint violations (23xxx), syntax and schema errors
 * (42xxx) and the like are bugs or bad input: they stay as they are.
 */
const OUTAGE_STATES = /^(08...|57P0[1-3]|53300|57014)$/;
/** Node's network errors. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/**
 * What node-postgres and pg-pool say, without a code, when a connection is lost or never
 * comes: "Connection terminated unexpectedly" / "due to connection timeout", the client's
 * `connectionTimeoutMillis` ("timeout expired", the whole message), the pool's
 * checkout timeout, `query_timeout` ("Query read timeout"), a client that was closed; and
 * the server's answer to a database closed to connections (SQLSTATE 55000, a class that
 * also holds bugs, so matched by its message only).
 */
const DRIVER_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|Connection is not established|Cannot use a pool after calling end|is not currently accepting connections|^timeout expired$/i;

/**
 * Whether a PostgreSQL call's failure is an outage (unreachable, lost, overloaded, too
 * slow), not a bug or bad input: what `SessionStoreUnavailableError` is for. Looks through
 * TypeORM's `QueryFailedError` (`driverError`) and `cause` to the driver's error.
 */
export function isPostgresOutage(error: unknown): boolean {
  // Structural, not `instanceof Error`: Node's socket errors come from another realm under
  // test runners (and from another copy of a library in some installs).
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 4; depth += 1) {
    const { name, code, message, driverError, cause } = current as { name?: unknown; code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
    if (name === 'SessionStoreUnavailableError') return true;
    if (typeof code === 'string' && (OUTAGE_STATES.test(code) || NETWORK_CODES.has(code))) return true;
    if (typeof message === 'string' && DRIVER_MESSAGES.test(message)) return true;
    current = driverError ?? cause;
  }
  return false;
}

/**
 * `error` as the store throws it: an outage becomes `SessionStoreUnavailableError` (the
 * driver's error as `cause`; the message names the operation and the error's code, never
 * SQL or parameters), anything else is returned unchanged.
 */
export function asStoreOutage(error: unknown, operation: string): unknown {
  if (error instanceof SessionStoreUnavailableError || !isPostgresOutage(error)) return error;
  const code = (error as { code?: unknown }).code;
  const what = typeof code === 'string' ? code : error instanceof Error ? error.name : typeof error;
  return new SessionStoreUnavailableError(`PostgreSQL call failed (${operation}: ${what})`, { cause: error });
}

/**
 * Runs `call` for at most `timeoutMs`: past it, the caller gets a
 * `SessionStoreUnavailableError` at once (the call itself is left to its own driver
 * timeouts, which discard a stuck connection); an outage error of the call becomes one too.
 */
export async function boundedCall<T>(operation: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SessionStoreUnavailableError(`PostgreSQL did not answer within ${timeoutMs} ms (${operation})`)),
      timeoutMs,
    );
  });
  const running = call();
  // A late failure after the timer fired must not become an unhandled rejection.
  running.catch(() => undefined);
  try {
    return await Promise.race([running, expired]);
  } catch (error) {
    throw asStoreOutage(error, operation);
  } finally {
    clearTimeout(timer);
  }
}
