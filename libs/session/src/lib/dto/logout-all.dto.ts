import { validateBody } from '../utils/body-validation';
import type { BodyRules } from '../utils/body-validation';

/** Body of `POST <prefix>/logout-all`. */
export class LogoutAllDto {
  /** Keep the session making the request; revoke only the others. Default: `false`. */
  keepCurrent?: boolean;
}

// Absent means false; null is refused like any other non-boolean.
const RULES: BodyRules = { keepCurrent: { type: 'boolean' } };

/** Validates a logout-all body (`{ keepCurrent?: boolean }`, nothing else); throws `SessionValidationException`. */
export function parseLogoutAllBody(body: unknown): LogoutAllDto {
  return validateBody<LogoutAllDto>(body, RULES);
}
