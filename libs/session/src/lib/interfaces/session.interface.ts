import type { ClientHints } from '../utils/device.util';
import type { SessionRecord } from './session-store.interface';

/** A JSON value, as custom claims may hold. */
export type ClaimValue = string | number | boolean | null | ClaimValue[] | { [name: string]: ClaimValue };

/** Custom claims as stores keep them: a JSON object (see `SessionClaims` for the typed view). */
export type StoredClaims = Record<string, ClaimValue>;

/**
 * The custom claims of an app's access tokens, as the `claims` option returns them and
 * `@CurrentUser()` shows them. Empty unless the app declares its own by declaration
 * merging:
 *
 * ```ts
 * declare module '@tessera/session' {
 *   interface SessionClaims { tenantId: string; plan: 'free' | 'pro' }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface, @typescript-eslint/no-empty-object-type -- filled by the app's declaration merging
export interface SessionClaims {}

/**
 * A user as the app hands it to Tessera: at login (`SessionEndpoints.login`,
 * `SessionService.create`) and from the `resolveUser` hook at each refresh. Apps may add
 * fields by declaration merging (`declare module '@tessera/session' { interface
 * SessionUser { tenantId: string } }`) for their `claims` function to read.
 */
export interface SessionUser {
  /** User id; becomes the `sub` claim. */
  id: string;
  /** Roles to put in access tokens. Default: none. */
  roles?: string[];
  /**
   * `true` when the account may no longer sign in: `resolveUser` answering so ends the
   * session at its next refresh (`session_revoked`, reason `user_disabled`). Default: `false`.
   */
  disabled?: boolean;
  /**
   * What the login and refresh responses show as `user`, besides `id` and `roles` (for
   * example `{ email }`). Never put in tokens or stored with the session. Default: nothing.
   */
  profile?: Record<string, unknown>;
}

/** The user a login or a refresh issued tokens for, as far as responses show it. */
export type IssuedUser = Pick<SessionUser, 'id' | 'roles' | 'profile'>;

/**
 * Who is on the other end: recorded with a new session, and put on the audit events
 * of every action it is passed to. `sessionContextOf(request)` builds it from a request.
 */
export interface SessionContext {
  userAgent?: string | null;
  ip?: string | null;
  /** User-Agent Client Hints of the request, when sent: they describe the device (`describeDevice`); never stored. */
  clientHints?: ClientHints;
}

/** What a login or a refresh hands back to the client. */
export interface IssuedSession {
  /**
   * The user the tokens were issued for: the one given at login, or, at a refresh, the
   * one `resolveUser` returned (else `{ id, roles }` of the session).
   */
  user: IssuedUser;
  accessToken: string;
  accessTokenExpiresAt: Date;
  /** Opaque refresh token; shown to the client once, stored only as a hash. */
  refreshToken: string;
  session: SessionRecord;
}
