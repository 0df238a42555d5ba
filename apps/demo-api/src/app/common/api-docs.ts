/** The 401 `code`s of an endpoint that needs a signed-in session, as its OpenAPI responses list them. */
export const UNAUTHORIZED_CODES = '`token_missing`, `token_invalid`, `token_expired`, `session_revoked`, `session_expired`';
/** What a route that needs a fresh session (`@RequireFreshSession()`) adds to its 401 codes. */
export const REAUTHENTICATION_REQUIRED =
  '`reauthentication_required`: the user proved a credential longer ago than `FRESH_SESSION_MAX_AGE`; ' +
  '`POST /auth/reauthenticate` and retry (bearer requests also get `WWW-Authenticate: Bearer ' +
  'error="insufficient_user_authentication", max_age=<seconds>`, RFC 9470)';
/** The 401 `code`s of an endpoint that needs a fresh session. */
export const FRESH_UNAUTHORIZED_CODES = `${UNAUTHORIZED_CODES}; ${REAUTHENTICATION_REQUIRED}`;
/** The OpenAPI 503 of an endpoint that needs the session store (`@ApiResponse(STORE_UNAVAILABLE_RESPONSE)`). */
export const STORE_UNAVAILABLE_RESPONSE = {
  status: 503,
  description: '`store_unavailable`: the session store cannot be reached; keep the tokens and retry after `Retry-After` seconds',
  headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } },
};
