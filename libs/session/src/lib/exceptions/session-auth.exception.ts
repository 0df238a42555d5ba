import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { AUTH_ERROR_MESSAGES, AuthErrorCode } from '../constants';

/** Body of every authentication failure: `{ statusCode, error, message, code }`. */
export interface AuthErrorBody {
  statusCode: number;
  error: string;
  message: string;
  code: AuthErrorCode;
}

/** 401 with a stable `code` (`token_missing`, `token_expired`, `refresh_token_reused`, ...). */
export class SessionUnauthorizedException extends UnauthorizedException {
  constructor(
    readonly code: AuthErrorCode,
    /** Whether the credential came from an `Authorization: Bearer` header (adds `WWW-Authenticate`). */
    readonly bearer = false,
    /** The unexpected error this refusal stands for (a store outage, a bug), if any; never sent. */
    cause?: unknown,
  ) {
    super(
      { statusCode: 401, error: 'Unauthorized', message: AUTH_ERROR_MESSAGES[code], code } satisfies AuthErrorBody,
      cause === undefined ? undefined : { cause },
    );
  }
}

/**
 * 401 `reauthentication_required`: the session is authenticated, but the user proved a
 * credential longer ago than the route allows (`@RequireFreshSession()`). Bearer requests get
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=...` (RFC 9470 §3).
 */
export class SessionReauthenticationRequiredException extends SessionUnauthorizedException {
  constructor(
    /** The route's maximum authentication age, in whole seconds (RFC 9470 `max_age`). */
    readonly maxAgeSeconds: number,
    bearer = false,
  ) {
    super(AuthErrorCode.ReauthenticationRequired, bearer);
  }

  /** The RFC 9470 challenge for a bearer request. */
  get challenge(): string {
    return `Bearer error="insufficient_user_authentication", error_description="A more recent authentication is required", max_age=${this.maxAgeSeconds}`;
  }
}

/** 403 for an authenticated caller that lacks a required role. */
export class SessionForbiddenException extends ForbiddenException {
  readonly code = AuthErrorCode.Forbidden;

  constructor() {
    super({
      statusCode: 403,
      error: 'Forbidden',
      message: AUTH_ERROR_MESSAGES.forbidden,
      code: AuthErrorCode.Forbidden,
    } satisfies AuthErrorBody);
  }
}

/** 403 `csrf_failed`: an unsafe cookie-authenticated request failed the CSRF checks. */
export class CsrfFailedException extends ForbiddenException {
  readonly code = AuthErrorCode.CsrfFailed;

  constructor() {
    super({
      statusCode: 403,
      error: 'Forbidden',
      message: AUTH_ERROR_MESSAGES.csrf_failed,
      code: AuthErrorCode.CsrfFailed,
    } satisfies AuthErrorBody);
  }
}
