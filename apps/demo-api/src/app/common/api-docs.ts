/** The 401 `code`s of an endpoint that needs a signed-in session, as its OpenAPI responses list them. */
export const UNAUTHORIZED_CODES = '`token_missing`, `token_invalid`, `token_expired`, `session_revoked`, `session_expired`';
