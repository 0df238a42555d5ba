import type { SessionRecord } from './session-store.interface';

/** Who is logging in. */
export interface SessionUser {
  /** User id; becomes the `sub` claim. */
  id: string;
  /** Roles to put in access tokens. Default: none. */
  roles?: string[];
}

/**
 * Who is on the other end: recorded with a new session, and put on the audit events
 * of every action it is passed to. `sessionContextOf(request)` builds it from a request.
 */
export interface SessionContext {
  userAgent?: string | null;
  ip?: string | null;
}

/** What a login or a refresh hands back to the client. */
export interface IssuedSession {
  accessToken: string;
  accessTokenExpiresAt: Date;
  /** Opaque refresh token; shown to the client once, stored only as a hash. */
  refreshToken: string;
  session: SessionRecord;
}
