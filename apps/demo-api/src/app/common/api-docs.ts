/** The 401 `code`s of an endpoint that needs a signed-in session, as its OpenAPI responses list them. */
export const UNAUTHORIZED_CODES = '`token_missing`, `token_invalid`, `token_expired`, `session_revoked`, `session_expired`';
/** The OpenAPI 503 of an endpoint that needs the session store (`@ApiResponse(STORE_UNAVAILABLE_RESPONSE)`). */
export const STORE_UNAVAILABLE_RESPONSE = {
  status: 503,
  description: '`store_unavailable`: the session store cannot be reached; keep the tokens and retry after `Retry-After` seconds',
  headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' } } },
};
