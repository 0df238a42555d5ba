/** Metadata key set by `@Public()`. */
export const IS_PUBLIC_KEY = 'tessera:public';
/** Metadata key set by `@SkipCsrf()`. */
export const SKIP_CSRF_KEY = 'tessera:skip-csrf';
/** Metadata key set by `@RequireFreshSession()`. */
export const FRESH_SESSION_KEY = 'tessera:fresh';
/** Metadata key set by `@Roles()`. */
export const ROLES_KEY = 'tessera:roles';
/** Name under which the JWT strategy is registered with passport. */
export const SESSION_JWT_STRATEGY = 'tessera-jwt';
/** Request property holding the authenticated session (see `@CurrentSession()`). */
export const SESSION_REQUEST_KEY = 'tesseraSession';
/** JOSE `typ` of access tokens (RFC 9068 §2.1). */
export const ACCESS_TOKEN_TYPE = 'at+jwt';
/** Header a client sends on register/login/refresh to receive tokens in the body instead of cookies. */
export const AUTH_MODE_HEADER = 'x-auth-mode';

/** Stable machine-readable codes of authentication failures. */
export const AuthErrorCode = {
  TokenMissing: 'token_missing',
  TokenInvalid: 'token_invalid',
  TokenExpired: 'token_expired',
  SessionRevoked: 'session_revoked',
  SessionExpired: 'session_expired',
  InvalidRefreshToken: 'invalid_refresh_token',
  RefreshTokenReused: 'refresh_token_reused',
  Forbidden: 'forbidden',
  CsrfFailed: 'csrf_failed',
  CookieConflict: 'cookie_conflict',
  StoreUnavailable: 'store_unavailable',
  ReauthenticationRequired: 'reauthentication_required',
} as const;
/** One of the `AuthErrorCode` values. */
export type AuthErrorCode = (typeof AuthErrorCode)[keyof typeof AuthErrorCode];

/** Client-facing messages, one per code. They never echo what the client sent. */
export const AUTH_ERROR_MESSAGES: Record<AuthErrorCode, string> = {
  token_missing: 'Authentication required',
  token_invalid: 'Access token is invalid',
  token_expired: 'Access token has expired',
  session_revoked: 'Session has been revoked',
  session_expired: 'Session has expired',
  invalid_refresh_token: 'Refresh token is invalid',
  refresh_token_reused: 'Refresh token was already used; the session has been revoked',
  forbidden: 'Insufficient role',
  csrf_failed: 'CSRF check failed: send the X-CSRF-Token header from a page of this site',
  cookie_conflict: "The request carries conflicting session cookies (some were set by another site): clear this site's cookies and sign in again",
  store_unavailable: 'Session store is unavailable; try again shortly',
  reauthentication_required: 'This action needs a recent sign-in: confirm your credentials and try again',
};

/**
 * `Retry-After` (seconds) of a `503 store_unavailable`. Short, as most outages are a
 * reconnect or a failover, and well below the default `refreshReuseGrace` (10 s): a refresh
 * that rotated its token before the outage cut the answer off can be retried with the
 * same token and still get the same successor.
 */
export const STORE_UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** Messages of configuration errors, raised once at boot. */
export const CONFIG_ERROR_MESSAGES = {
  secretTooShort: (option: string, bytes: number) =>
    `SessionModule option "${option}" must be at least 32 bytes (got ${bytes}). Generate one with: node -e "console.log(require('crypto').randomBytes(48).toString('base64url'))"`,
  secretMissing: (option: string) => `SessionModule option "${option}" is required.`,
  secretsEqual: 'SessionModule option "sessionSecret" must differ from every HS256 access-token key ("jwtSecret", "keys"): use independent random keys.',
  unknownAlgorithm: (value: unknown) =>
    `SessionModule option "algorithm" must be "HS256" (got ${JSON.stringify(value)}).`,
  badDuration: (option: string, value: unknown) =>
    `SessionModule option "${option}" must be a positive duration such as 500ms, 30s, 15m, 12h or 7d (got ${JSON.stringify(value)}).`,
  idleOverAbsolute: 'SessionModule option "idleTimeout" must not exceed "absoluteTimeout".',
  ttlOverIdle: 'SessionModule option "accessTokenTtl" must not exceed "idleTimeout".',
  badString: (option: string) => `SessionModule option "${option}" must be a non-empty string.`,
  badCookiePath: 'SessionModule option "cookies.refreshTokenPath" must start with "/".',
  unknownKeyAlgorithm: (option: string, value: unknown) =>
    `SessionModule option "${option}" must be "HS256" or "EdDSA" (got ${JSON.stringify(value)}).`,
  badEd25519Key: (option: string) =>
    `SessionModule option "${option}" must be an Ed25519 key in PEM form (openssl genpkey -algorithm ed25519).`,
  mixedKey: (option: string) =>
    `SessionModule option "${option}" mixes key kinds: HS256 takes "secret", EdDSA takes "privateKey"/"publicKey".`,
  keyPairMismatch: (option: string) => `SessionModule option "${option}": publicKey does not belong to privateKey.`,
  duplicateKid: (kid: string) => `SessionModule options "keys": two keys share the kid "${kid}"; give each its own.`,
  unknownActiveKey: (kid: string) => `SessionModule option "activeKeyId" names no key of the ring ("${kid}").`,
  activeKeyCannotSign: (kid: string) =>
    `SessionModule option "activeKeyId": key "${kid}" has no private key, so it cannot sign; give it "privateKey".`,
  badOrigin: (value: unknown) =>
    `SessionModule option "csrf.allowedOrigins" must list origins such as https://app.example.com (got ${JSON.stringify(value)}).`,
  badCron: (value: unknown) =>
    `SessionModule option "cleanup.cron" must be a cron expression such as "*/10 * * * *", or false (got ${JSON.stringify(value)}).`,
  badRevocationMode: (value: unknown) =>
    `SessionModule option "revocationMode" must be "stateless", "cached" or "strict" (got ${JSON.stringify(value)}).`,
  badCount: (option: string, value: unknown) =>
    `SessionModule option "${option}" must be a whole number, 0 or more (got ${JSON.stringify(value)}).`,
  badStore:
    'SessionModule option "store" must implement SessionStore (create, findById, rotateRefresh, touch, markAuthenticated, revoke, reissue, listByUser, revokeByUser, updateUserSessions, listRevokedSince, watchRevocations, deleteExpired, acquireCleanupLock).',
  notAFunction: (option: string) => `SessionModule option "${option}" must be a function.`,
  notAProvider: (option: string, method: string) =>
    `SessionModule option "${option}" must be an OpenTelemetry provider (an object with ${method}()), or be left out to use the global one.`,
  badHttpAdapter:
    'SessionModule option "http" must implement SessionHttpAdapter (method, header, cookie, ip, protocol, body, setCookie, clearCookie, setHeader), or be left out to use Express or Fastify.',
} as const;
