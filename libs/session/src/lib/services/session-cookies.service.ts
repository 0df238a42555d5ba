import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { AuthErrorCode } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { DuplicateCookieError, readCookie } from '../utils/cookie.util';
import { claimedSessionIdOf } from '../utils/refresh-token-chain';
import { AccessTokenService } from './access-token.service';
import { SessionEvents } from './session-events.service';
import { sessionContextOf } from './session.service';

/** Why a request's session cookies were refused. */
export type CookieConflict = 'duplicate_cookie' | 'session_mismatch';

/**
 * Reads Tessera's cookies from requests, under their resolved names, and refuses
 * requests whose cookies contradict each other: a name sent twice, or an access cookie
 * and a refresh cookie of two different sessions. Both are what a sibling subdomain can
 * cause by setting a `Domain=` cookie of our name with a longer path ("cookie tossing"),
 * to have the victim's browser refresh, or fetch a CSRF token for, the attacker's
 * session (login CSRF; OWASP CSRF cheat sheet, "login CSRF" and cookie tossing). Such a
 * request gets 401 `cookie_conflict` and a `cookie.conflict` event.
 */
@Injectable()
export class SessionCookies {
  /** Name of the access-token cookie (`__Host-` prefixed when secure). */
  readonly accessName: string;
  /** Name of the refresh-token cookie (`__Secure-` prefixed when secure: its path is narrower than `/`). */
  readonly refreshName: string;
  /** Name of the readable CSRF-token cookie (`__Host-` prefixed when secure). */
  readonly csrfName: string;
  private readonly logger = new Logger('SessionCookies');

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly tokens: AccessTokenService,
    private readonly events: SessionEvents,
  ) {
    const { secure, accessTokenName, refreshTokenName } = options.cookies;
    this.accessName = secure ? `__Host-${accessTokenName}` : accessTokenName;
    this.refreshName = secure ? `__Secure-${refreshTokenName}` : refreshTokenName;
    this.csrfName = secure ? `__Host-${options.csrf.cookieName}` : options.csrf.cookieName;
  }

  /** The value of one of our cookies; throws 401 `cookie_conflict` when the request carries it twice. */
  read(request: Request, name: string): string | undefined {
    try {
      return readCookie(request.headers.cookie, name);
    } catch (error) {
      if (error instanceof DuplicateCookieError) throw this.conflict(request, 'duplicate_cookie');
      throw error;
    }
  }

  /** The session named by a valid (signed, unexpired) access cookie, if any. */
  accessCookieSession(request: Request): string | undefined {
    const token = this.read(request, this.accessName);
    if (!token) return undefined;
    try {
      return this.tokens.verify(token).sid;
    } catch {
      return undefined; // expired or invalid: names nothing
    }
  }

  /** The refresh cookie, checked against the access cookie (`cookieSessions`). */
  refreshCookie(request: Request): string | undefined {
    return this.cookieSessions(request).refreshToken;
  }

  /**
   * The session the cookies of an unauthenticated request name: the access cookie's, else
   * the refresh cookie's; undefined when neither names one.
   */
  cookieSession(request: Request): string | undefined {
    const { accessSession, refreshSession } = this.cookieSessions(request);
    return accessSession ?? refreshSession;
  }

  /**
   * Both session cookies of a request. When both name a session (a valid access cookie,
   * a well-formed refresh token), it must be the same one: our responses always set the
   * two together, so two sessions mean one cookie came from elsewhere.
   */
  private cookieSessions(request: Request): { accessSession?: string; refreshSession?: string; refreshToken?: string } {
    const refreshToken = this.read(request, this.refreshName);
    const accessSession = this.accessCookieSession(request);
    const refreshSession = refreshToken === undefined ? undefined : claimedSessionIdOf(refreshToken);
    if (accessSession !== undefined && refreshSession !== undefined && accessSession !== refreshSession) {
      throw this.conflict(request, 'session_mismatch');
    }
    return { accessSession, refreshSession, refreshToken };
  }

  private conflict(request: Request, reason: CookieConflict): SessionUnauthorizedException {
    this.logger.warn(`Refused a request with conflicting session cookies (${reason})`);
    this.events.emit({
      type: 'cookie.conflict',
      at: this.options.clock.now(),
      userId: null,
      sessionFingerprint: null,
      reason,
      ...sessionContextOf(request),
    });
    return new SessionUnauthorizedException(AuthErrorCode.CookieConflict);
  }
}
