import { validateBody } from '../utils/body-validation';
import type { BodyRules } from '../utils/body-validation';

/** Body of `POST <prefix>/refresh`: bearer mode sends the refresh token here; cookie mode sends the cookie. */
export class RefreshDto {
  /** Bearer mode only: the refresh token from the last login or refresh (at most 256 characters). */
  refreshToken?: string;
}

/** Longest refresh token the body may carry (ours are far shorter; this bounds the work on junk). */
export const REFRESH_TOKEN_MAX_LENGTH = 256;

// null is accepted as "no token" (the refresh then fails as invalid_refresh_token), as
// class-validator's @IsOptional() did for the demo before the routes moved here.
const RULES: BodyRules = { refreshToken: { type: 'string', maxLength: REFRESH_TOKEN_MAX_LENGTH, nullable: true } };

/** Validates a refresh body (`{ refreshToken?: string }`, nothing else); throws `SessionValidationException`. */
export function parseRefreshBody(body: unknown): RefreshDto {
  return validateBody<RefreshDto>(body, RULES);
}
