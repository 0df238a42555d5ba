/**
 * What a store throws when its backend cannot be reached or does not answer in time (a
 * connection refused or lost, a call past its timeout). The core answers such a failure
 * with `503 store_unavailable` and `Retry-After`, never with a 401 that would make a
 * client drop a session that may be valid, and never with a 500. Store authors: throw it
 * (with the driver's error as `cause`) for outages only, never for a bug or bad input.
 */
export class SessionStoreUnavailableError extends Error {
  override readonly name = 'SessionStoreUnavailableError';

  constructor(message = 'The session store cannot be reached', options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Whether `error` is a `SessionStoreUnavailableError` (from any copy of this package). */
export function isSessionStoreUnavailable(error: unknown): error is SessionStoreUnavailableError {
  return (
    error instanceof SessionStoreUnavailableError ||
    (error instanceof Error && error.name === 'SessionStoreUnavailableError')
  );
}
