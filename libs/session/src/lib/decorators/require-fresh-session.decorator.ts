import { SetMetadata } from '@nestjs/common';
import { FRESH_SESSION_KEY } from '../constants';
import type { Duration } from '../interfaces/session-module-options.interface';
import { parseDuration } from '../utils/duration';

/** What `@RequireFreshSession()` stores: the route's maximum age, or the module's default. */
export interface FreshSessionRequirement {
  /** Maximum age in milliseconds; `undefined`: the module option `freshSessionMaxAge`. */
  maxAgeMs: number | undefined;
}

/**
 * Requires the user to have proved a credential (login, or `SessionService.markAuthenticated`)
 * within `maxAge` (default: the module option `freshSessionMaxAge`, `10m`) for sensitive
 * actions (OWASP ASVS V7 re-authentication; OIDC Core §2 `auth_time`). `SessionGuard` checks
 * it after authentication (the session record in `strict` mode, the token's `auth_time`
 * otherwise) and answers a stale session `401 reauthentication_required`, with
 * `WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=<seconds>` on
 * bearer requests (RFC 9470). On a handler or a controller; the handler's wins.
 * A malformed `maxAge` throws when the class is defined.
 */
export function RequireFreshSession(maxAge?: Duration): MethodDecorator & ClassDecorator {
  let maxAgeMs: number | undefined;
  if (maxAge !== undefined) {
    maxAgeMs = parseDuration(maxAge);
    if (maxAgeMs === undefined) {
      throw new Error(`@RequireFreshSession() needs a positive duration such as 30s, 5m or 1h (got ${JSON.stringify(maxAge)}).`);
    }
  }
  return SetMetadata(FRESH_SESSION_KEY, { maxAgeMs } satisfies FreshSessionRequirement);
}
