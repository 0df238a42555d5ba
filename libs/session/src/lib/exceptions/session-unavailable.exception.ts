import { ServiceUnavailableException } from '@nestjs/common';
import { AUTH_ERROR_MESSAGES, AuthErrorCode, STORE_UNAVAILABLE_RETRY_AFTER_SECONDS } from '../constants';
import type { AuthErrorBody } from './session-auth.exception';
import { isSessionStoreUnavailable } from './session-store-unavailable.error';

/**
 * 503 `store_unavailable`: the session store could not be reached, so the request could not
 * be checked or recorded. Answered with `Retry-After: retryAfterSeconds`; never a 401, which
 * would make a client drop a session that may be valid.
 */
export class SessionUnavailableException extends ServiceUnavailableException {
  readonly code = AuthErrorCode.StoreUnavailable;

  constructor(
    /** The store's error, kept for the app's own logging; never sent. */
    cause?: unknown,
    /** Seconds a client should wait before retrying (the `Retry-After` header). */
    readonly retryAfterSeconds: number = STORE_UNAVAILABLE_RETRY_AFTER_SECONDS,
  ) {
    super(
      {
        statusCode: 503,
        error: 'Service Unavailable',
        message: AUTH_ERROR_MESSAGES.store_unavailable,
        code: AuthErrorCode.StoreUnavailable,
      } satisfies AuthErrorBody,
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * The 503 an error stands for when it is a session-store outage (a
 * `SessionStoreUnavailableError`, or an already mapped `SessionUnavailableException`);
 * undefined for anything else (a refusal, a bug), which the caller handles as before.
 * The one place that decides what counts as an outage: the guard, the session routes and
 * an app's exception filter all ask it.
 */
export function storeOutageOf(error: unknown): SessionUnavailableException | undefined {
  if (error instanceof SessionUnavailableException) return error;
  if (isSessionStoreUnavailable(error)) return new SessionUnavailableException(error);
  return undefined;
}
