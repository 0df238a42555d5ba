import { Inject, Injectable, Logger } from '@nestjs/common';
import { AuthErrorCode } from '../constants';
import { parseLogoutAllBody } from '../dto/logout-all.dto';
import { parseRefreshBody } from '../dto/refresh.dto';
import { toSessionViews } from '../dto/session-view.dto';
import type { SessionView } from '../dto/session-view.dto';
import { SessionNotFoundException } from '../exceptions/session-not-found.exception';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import { storeOutageOf } from '../exceptions/session-unavailable.exception';
import type { AuthenticatedSession, TokenTransport } from '../interfaces/authenticated.interface';
import { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { HttpRequest, HttpResponse } from '../interfaces/session-http-adapter.interface';
import type { IssuedSession, IssuedUser, SessionContext, SessionUser } from '../interfaces/session.interface';
import { SESSION_ID_PATTERN } from '../utils/refresh-token-chain';
import { sessionContextOf, sessionOf } from '../utils/session-request.util';
import { CsrfService } from './csrf.service';
import { SessionService } from './session.service';
import { SessionTransportService } from './session-transport.service';
import type { IssuedSessionBody, ReauthenticatedBody } from './session-transport.service';

/** The user as login and refresh responses show it: `{ id, ...profile, roles }`. */
export interface SessionUserView {
  id: string;
  roles: string[];
  [field: string]: unknown;
}

/**
 * What login and refresh answer: cookie mode `{ session, csrfToken, expiresIn, user }` (the tokens
 * go in cookies), bearer mode `{ accessToken, refreshToken, tokenType, expiresIn, session, user }`.
 */
export type SessionLoginBody = IssuedSessionBody & { user: SessionUserView };

/** What `GET <prefix>/csrf` answers. */
export interface CsrfTokenBody {
  csrfToken: string;
}

/**
 * What each session route does, for the routes `SessionRoutesModule` mounts and for apps
 * that write their own: every method takes the platform's request and response (through
 * `SessionHttpAdapter`) and returns the response body. `login` is the one call an app's
 * login handler makes once it has checked the credentials.
 *
 * The methods of authenticated routes read the principal `SessionGuard` put on the
 * request and refuse (401 `token_missing`) a request that has none, so a route the guard
 * does not cover fails closed.
 *
 * A store outage is answered `503 store_unavailable` with `Retry-After`
 * (`SessionUnavailableException`), whatever the route: nothing was recorded (a logout is
 * not a 204 unless the revocation was), and the client keeps its tokens and retries.
 */
@Injectable()
export class SessionEndpoints {
  private readonly logger = new Logger(SessionEndpoints.name);

  constructor(
    private readonly sessions: SessionService,
    private readonly transport: SessionTransportService,
    private readonly csrf: CsrfService,
    @Inject(SessionHttpAdapter) private readonly http: SessionHttpAdapter,
  ) {}

  /**
   * `GET csrf`: sets the readable CSRF cookie and returns the same token, bound to the
   * request's session when there is one (`CsrfService.verifiedBindingFor`).
   */
  async csrfToken(request: HttpRequest, response: HttpResponse): Promise<CsrfTokenBody> {
    this.transport.noStore(response);
    try {
      return { csrfToken: this.csrf.issue(response, await this.csrf.verifiedBindingFor(request)) };
    } catch (error) {
      throw this.failure(response, error);
    }
  }

  /**
   * Starts a session for a user whose credentials the app has just checked: always a new
   * session id, whatever the request carried (no fixation), tokens delivered in the mode
   * the request asks for (`X-Auth-Mode`), and the login body of the contract. `user.profile`
   * (for example `{ email }`) is shown in the body's `user`, never put in a token.
   */
  async login(
    request: HttpRequest,
    response: HttpResponse,
    user: SessionUser,
    context: SessionContext = sessionContextOf(request, this.http),
  ): Promise<SessionLoginBody> {
    try {
      return this.answer(request, response, await this.sessions.create(user, context));
    } catch (error) {
      throw this.failure(response, error);
    }
  }

  /**
   * `POST refresh`: validates the body (`{ refreshToken?: string }`), rotates the refresh
   * token (body in bearer mode, cookie otherwise) and answers like login, with the user
   * as the refresh resolved it. A bearer-mode 401 carries `WWW-Authenticate`.
   */
  async refresh(request: HttpRequest, response: HttpResponse): Promise<SessionLoginBody> {
    parseRefreshBody(this.http.body(request));
    // Read once: the token's source, the delivery and the 401's header all follow it.
    const mode = this.transport.requestedMode(request);
    try {
      const issued = await this.sessions.refresh(
        this.transport.extractRefreshToken(request, mode),
        sessionContextOf(request, this.http),
      );
      return this.answer(request, response, issued, mode);
    } catch (error) {
      if (mode === 'bearer' && error instanceof SessionUnauthorizedException) {
        this.http.setHeader(response, 'WWW-Authenticate', 'Bearer error="invalid_token"');
      }
      throw this.failure(response, error);
    }
  }

  /** `POST logout`: revokes the caller's session, clears the cookies and sends `Clear-Site-Data`. */
  async logout(request: HttpRequest, response: HttpResponse): Promise<void> {
    const session = this.principal(request);
    try {
      await this.sessions.revoke(session.id, 'logout', sessionContextOf(request, this.http));
    } catch (error) {
      // The cookies stay: the session was not revoked, and the client must retry.
      throw this.failure(response, error);
    }
    this.transport.clear(response);
  }

  /**
   * `POST logout-all`: validates the body (`{ keepCurrent?: boolean }`), revokes every
   * session of the caller, or all but this one with `keepCurrent: true`; unless kept, this
   * session's cookies are cleared as at logout.
   */
  async logoutAll(request: HttpRequest, response: HttpResponse): Promise<void> {
    const { keepCurrent } = parseLogoutAllBody(this.http.body(request));
    const session = this.principal(request);
    const keep = keepCurrent === true;
    try {
      await this.sessions.revokeAllForUser(
        session.userId,
        'logout_all',
        keep ? session.id : undefined,
        sessionContextOf(request, this.http),
      );
    } catch (error) {
      throw this.failure(response, error);
    }
    if (keep) this.transport.noStore(response);
    else this.transport.clear(response);
  }

  /**
   * For an app's re-authentication route, once it has verified a credential of the caller
   * again (a password, a second factor): marks the caller's session freshly authenticated
   * (`SessionService.markAuthenticated`) and re-issues its access token in the session's
   * transport (cookie mode: the access cookie and a new CSRF token; bearer mode: a new access
   * token in the body). Same session id, same refresh token.
   */
  async reauthenticated(request: HttpRequest, response: HttpResponse): Promise<ReauthenticatedBody> {
    const session = this.principal(request);
    try {
      const marked = await this.sessions.markAuthenticated(session.id, sessionContextOf(request, this.http));
      return this.transport.deliverAccess(response, marked, session.transport);
    } catch (error) {
      throw this.failure(response, error);
    }
  }

  /** `GET sessions`: the caller's live sessions, oldest first, `current` marked; never cached. */
  async listSessions(request: HttpRequest, response: HttpResponse): Promise<SessionView[]> {
    const session = this.principal(request);
    // Where and when the user signs in is personal data: no shared cache may keep it.
    this.transport.noStore(response);
    try {
      const records = await this.sessions.listForUser(session.userId);
      return await toSessionViews(records, session.id, sessionContextOf(request, this.http).clientHints);
    } catch (error) {
      throw this.failure(response, error);
    }
  }

  /**
   * `DELETE sessions/:id`: revokes one of the caller's sessions (reason `user_revoked`);
   * 404 `session_not_found` for anything else, and a non-id never reaches the store.
   * Ending the current session also clears its cookies, like logout.
   */
  async revokeSession(request: HttpRequest, response: HttpResponse, id: unknown): Promise<void> {
    const session = this.principal(request);
    if (typeof id !== 'string' || !SESSION_ID_PATTERN.test(id)) throw new SessionNotFoundException();
    let revoked: boolean;
    try {
      revoked = await this.sessions.revokeOwned(session.userId, id, 'user_revoked', sessionContextOf(request, this.http));
    } catch (error) {
      throw this.failure(response, error);
    }
    if (!revoked) throw new SessionNotFoundException();
    if (id === session.id) this.transport.clear(response);
  }

  /** The body of a login or refresh: the delivered tokens (cookies or body) and the user. */
  private answer(
    request: HttpRequest,
    response: HttpResponse,
    issued: IssuedSession,
    mode: TokenTransport = this.transport.requestedMode(request),
  ): SessionLoginBody {
    return { ...this.transport.deliver(request, response, issued, mode), user: userView(issued.user) };
  }

  /**
   * What a route throws for `error`: a store outage becomes the 503 (`storeOutageOf`), with
   * `Retry-After` set and one log line naming the error's kind only; anything else as is.
   */
  private failure(response: HttpResponse, error: unknown): unknown {
    const outage = storeOutageOf(error);
    if (!outage) return error;
    if (outage !== error) this.logger.warn(`Session store unavailable (${(error as Error).name}); answered 503`);
    this.http.setHeader(response, 'Retry-After', String(outage.retryAfterSeconds));
    return outage;
  }

  private principal(request: HttpRequest): AuthenticatedSession {
    const session = sessionOf(request);
    if (!session) throw new SessionUnauthorizedException(AuthErrorCode.TokenMissing);
    return session;
  }
}

/** `{ id, ...profile, roles }`; a profile cannot override the id or the roles. */
function userView(user: IssuedUser): SessionUserView {
  const { id: _id, roles: _roles, ...profile } = user.profile ?? {};
  return { id: user.id, ...profile, roles: [...(user.roles ?? [])] };
}
