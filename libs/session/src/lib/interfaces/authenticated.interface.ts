import type { SessionClaims } from './session.interface';

/** How the access token reached the server. */
export type TokenTransport = 'bearer' | 'cookie';

/** The caller, as `@CurrentUser()` returns it. Taken from the verified access token. */
export interface AuthenticatedUser {
  /** User id (`sub` claim). */
  id: string;
  /** Roles granted to the session (`roles` claim; in `strict` mode, the session record's). */
  roles: string[];
  /** Custom claims (the `claims` option), frozen; `{}` without any. In `strict` mode, the session record's. */
  claims: Readonly<SessionClaims>;
}

/** The caller's session, as `@CurrentSession()` returns it. */
export interface AuthenticatedSession {
  /** Session id (`sid` claim); a public handle, not a credential. */
  id: string;
  /** Owner of the session. */
  userId: string;
  /** Where the access token came from; bearer requests are exempt from CSRF checks. */
  transport: TokenTransport;
  /** When the access token that authenticated this request expires. */
  accessTokenExpiresAt: Date;
  /** `jti` of that access token. */
  tokenId: string;
  /**
   * When the user last proved a credential (OIDC Core §2 `auth_time`): in `strict` mode the
   * session record's `authenticatedAt`, otherwise the token's `auth_time` claim; null for a
   * token issued without one (treated as stale by `@RequireFreshSession()`).
   */
  authenticatedAt: Date | null;
}

/** What a request authenticates as: the user and the session (`SessionAuthenticator.authenticate`). */
export interface SessionPrincipal {
  user: AuthenticatedUser;
  session: AuthenticatedSession;
}

/** Claims of a Tessera access token (RFC 9068 profile; no personal data besides the user id). */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  /** Not before; our tokens never carry it, but a verified one may. */
  nbf?: number;
  roles: string[];
  /** When the user last proved a credential, in seconds (OIDC Core §2); copied from the session record. */
  auth_time?: number;
}
