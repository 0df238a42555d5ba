/** Why a session ended, in words, by the code the server or the client gave. */
const REASONS: Record<string, string> = {
  logout: 'You logged out.',
  logout_all: 'You logged out everywhere: every session of this account has ended.',
  session_revoked: 'This session was revoked, from this or another device, or by an administrator.',
  session_expired: 'This session expired (too long idle, or too long since you logged in).',
  refresh_token_reused:
    'A refresh token of this session was used twice, which is how a stolen token shows: the server ended the session to be safe.',
  invalid_refresh_token: 'The server no longer knows this session’s refresh token (it ended, or the cookie was replaced).',
  token_missing: 'The session’s cookies are gone (cleared, or expired).',
  token_invalid: 'The server refused this session’s access token.',
  cookie_conflict: 'The browser sent the cookies of two sessions at once; log in again to start clean.',
};

/** The reason in words; an unknown code still says that the session ended. */
export function reasonInWords(code: string): string {
  return REASONS[code] ?? 'This session ended.';
}

/** Codes of a 401 that mean the session is over (as opposed to a wrong password, or an access token to refresh). */
export const SESSION_END_CODES: ReadonlySet<string> = new Set([
  'session_revoked',
  'session_expired',
  'refresh_token_reused',
  'invalid_refresh_token',
  'token_invalid',
  'cookie_conflict',
]);
