import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuthErrorCode } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { HttpRequest } from '../interfaces/session-http-adapter.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions, SessionCookieNames } from '../options/session-options';
import { DuplicateCookieError } from '../utils/cookie.util';
import { sessionContextOf } from '../utils/session-request.util';
import { claimedSessionIdOf } from '../utils/refresh-token-chain';
import { AccessTokenService } from './access-token.service';
import { SessionEvents } from './session-events.service';

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
  private readonly logger = new Logger('SessionCookies');
  /** The cookie names in use (`__Host-` prefixed unless configured otherwise), e.g. for the app's OpenAPI document. */
  readonly names: Readonly<SessionCookieNames>;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly tokens: AccessTokenService,
    private readonly events: SessionEvents,
    @Inject(SessionHttpAdapter) private readonly http: SessionHttpAdapter,
  ) {
    this.names = options.cookies.names;
  }

  /** The value of one of our cookies; throws 401 `cookie_conflict` when the request carries it twice. */
  read(request: HttpRequest, name: string): string | undefined {
    try {
      return this.http.cookie(request, name);
    } catch (error) {
      if (error instanceof DuplicateCookieError) throw this.conflict(request, 'duplicate_cookie');
      throw error;
    }
  }

  /** The session named by a valid (signed, unexpired) access cookie, if any. */
  accessCookieSession(request: HttpRequest): string | undefined {
    const token = this.read(request, this.names.access);
    if (!token) return undefined;
    try {
      return this.tokens.verify(token).sid;
    } catch {
      return undefined; // expired or invalid: names nothing
    }
  }

  /** The refresh cookie, checked against the access cookie (`cookieSessions`). */
  refreshCookie(request: HttpRequest): string | undefined {
    return this.cookieSessions(request).refreshToken;
  }

  /**
   * The session the cookies of an unauthenticated request name: the access cookie's, else
   * the refresh cookie's; undefined when neither names one.
   */
  cookieSession(request: HttpRequest): string | undefined {
    const { accessSession, refreshSession } = this.cookieSessions(request);
    return accessSession ?? refreshSession;
  }

  /**
   * Both session cookies of a request. When both name a session (a valid access cookie,
   * a well-formed refresh token), it must be the same one: our responses always set the
   * two together, so two sessions mean one cookie came from elsewhere.
   */
  private cookieSessions(request: HttpRequest): { accessSession?: string; refreshSession?: string; refreshToken?: string } {
    const refreshToken = this.read(request, this.names.refresh);
    const accessSession = this.accessCookieSession(request);
    const refreshSession = refreshToken === undefined ? undefined : claimedSessionIdOf(refreshToken);
    if (accessSession !== undefined && refreshSession !== undefined && accessSession !== refreshSession) {
      throw this.conflict(request, 'session_mismatch');
    }
    return { accessSession, refreshSession, refreshToken };
  }

  private conflict(request: HttpRequest, reason: CookieConflict): SessionUnauthorizedException {
    this.logger.warn(`Refused a request with conflicting session cookies (${reason})`);
    this.events.emit({
      type: 'cookie.conflict',
      at: this.options.clock.now(),
      userId: null,
      sessionFingerprint: null,
      reason,
      ...sessionContextOf(request, this.http),
    });
    return new SessionUnauthorizedException(AuthErrorCode.CookieConflict);
  }
}
