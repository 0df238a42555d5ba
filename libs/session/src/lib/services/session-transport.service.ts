import { Inject, Injectable } from '@nestjs/common';
import { AUTH_MODE_HEADER } from '../constants';
import type { TokenTransport } from '../interfaces/authenticated.interface';
import { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { HttpRequest, HttpResponse, SessionCookieAttributes } from '../interfaces/session-http-adapter.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions, SessionCookieNames } from '../options/session-options';
import { CsrfService } from './csrf.service';
import { SessionCookies } from './session-cookies.service';
import type { IssuedSession, ReauthenticatedSession } from './session.service';

/** The public part of a session that responses may show. */
export interface SessionSummary {
  id: string;
  expiresAt: Date;
}

/** Body fields a login or refresh answers with; bearer mode adds the tokens. */
export type IssuedSessionBody =
  | { session: SessionSummary; csrfToken: string; expiresIn: number }
  | {
      accessToken: string;
      refreshToken: string;
      tokenType: 'Bearer';
      expiresIn: number;
      session: SessionSummary;
    };

/**
 * What a re-authentication answers (`SessionEndpoints.reauthenticated`): cookie mode
 * `{ csrfToken, expiresIn }` (the new access token in its cookie), bearer mode a new access
 * token. The refresh token is unchanged in both.
 */
export type ReauthenticatedBody =
  | { csrfToken: string; expiresIn: number }
  | { accessToken: string; tokenType: 'Bearer'; expiresIn: number };

/**
 * Carries tokens between server and client in the two modes of the contract:
 * cookie mode (HttpOnly cookies, the browser default) and bearer mode
 * (`X-Auth-Mode: bearer`, tokens in JSON bodies). Tokens are never read from a URL.
 */
@Injectable()
export class SessionTransportService {
  private readonly names: SessionCookieNames;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly csrf: CsrfService,
    private readonly cookies: SessionCookies,
    @Inject(SessionHttpAdapter) private readonly http: SessionHttpAdapter,
  ) {
    this.names = options.cookies.names;
  }

  /** Mode a register/login/refresh request asks for: bearer when it sends `X-Auth-Mode: bearer`. */
  requestedMode(request: HttpRequest): TokenTransport {
    const header = this.http.header(request, AUTH_MODE_HEADER);
    if (header === undefined) return 'cookie';
    // The exact spelling first: what clients send, without the two strings trim and toLowerCase make.
    return header === 'bearer' || header.trim().toLowerCase() === 'bearer' ? 'bearer' : 'cookie';
  }

  /**
   * The refresh token of a refresh/logout request: from the body in bearer mode, the
   * cookie otherwise. A refresh cookie sent twice, or naming another session than a valid
   * access cookie, is refused (401 `cookie_conflict`). `mode`: the request's
   * `requestedMode`, when the caller has it already.
   */
  extractRefreshToken(request: HttpRequest, mode: TokenTransport = this.requestedMode(request)): string | undefined {
    if (mode === 'bearer') {
      const body = this.http.body(request) as Record<string, unknown> | undefined;
      return typeof body?.refreshToken === 'string' ? body.refreshToken : undefined;
    }
    return this.cookies.refreshCookie(request);
  }

  /**
   * Hands freshly issued tokens to the client: cookies (and a CSRF token bound to the
   * session, in the body and its cookie) in cookie mode, the body in
   * bearer mode (by default the mode the request asks for with `X-Auth-Mode`; pass the
   * authenticated session's `transport` on authenticated routes). Always marks the
   * response `Cache-Control: no-store`.
   */
  deliver(
    request: HttpRequest,
    response: HttpResponse,
    issued: IssuedSession,
    mode: TokenTransport = this.requestedMode(request),
  ): IssuedSessionBody {
    this.noStore(response);
    const session = { id: issued.session.id, expiresAt: issued.session.expiresAt };
    const now = this.options.clock.now().getTime();
    // Seconds until the access token expires, in both modes: a browser client cannot read the
    // HttpOnly access cookie, and needs this to refresh shortly before expiry.
    const expiresIn = Math.max(0, Math.floor((issued.accessTokenExpiresAt.getTime() - now) / 1000));
    if (mode === 'bearer') {
      return { accessToken: issued.accessToken, refreshToken: issued.refreshToken, tokenType: 'Bearer', expiresIn, session };
    }
    const access = this.accessCookieAttributes();
    access.maxAge = Math.max(0, issued.accessTokenExpiresAt.getTime() - now);
    this.http.setCookie(response, this.names.access, issued.accessToken, access);
    const refresh = this.refreshCookieAttributes();
    refresh.maxAge = Math.max(0, issued.session.expiresAt.getTime() - now);
    this.http.setCookie(response, this.names.refresh, issued.refreshToken, refresh);
    // A new session needs a CSRF token bound to it (the old one named the previous session or none).
    return { session, csrfToken: this.csrf.issue(response, issued.session.id, issued.session.expiresAt), expiresIn };
  }

  /**
   * Hands a re-issued access token (`SessionService.markAuthenticated`) to the client of an
   * authenticated request, in the session's `transport`: the access cookie and a new CSRF token
   * bound to the session in cookie mode, the body in bearer mode. The refresh token, and so
   * the refresh cookie, stay as they are. Marks the response `Cache-Control: no-store`.
   */
  deliverAccess(response: HttpResponse, reauthenticated: ReauthenticatedSession, mode: TokenTransport): ReauthenticatedBody {
    this.noStore(response);
    const now = this.options.clock.now().getTime();
    const expiresIn = Math.max(0, Math.floor((reauthenticated.accessTokenExpiresAt.getTime() - now) / 1000));
    if (mode === 'bearer') return { accessToken: reauthenticated.accessToken, tokenType: 'Bearer', expiresIn };
    const access = this.accessCookieAttributes();
    access.maxAge = Math.max(0, reauthenticated.accessTokenExpiresAt.getTime() - now);
    this.http.setCookie(response, this.names.access, reauthenticated.accessToken, access);
    const { session } = reauthenticated;
    return { csrfToken: this.csrf.issue(response, session.id, session.expiresAt), expiresIn };
  }

  /** Clears the session cookies and asks the browser to drop its cookies (`Clear-Site-Data`). */
  clear(response: HttpResponse): void {
    this.noStore(response);
    this.http.clearCookie(response, this.names.access, this.accessCookieAttributes());
    this.http.clearCookie(response, this.names.refresh, this.refreshCookieAttributes());
    this.csrf.clear(response);
    this.http.setHeader(response, 'Clear-Site-Data', '"cookies"');
  }

  /** Marks a response as never to be cached (every response that carries a token). */
  noStore(response: HttpResponse): void {
    this.http.setHeader(response, 'Cache-Control', 'no-store');
    this.http.setHeader(response, 'Pragma', 'no-cache');
  }

  // __Host- pins the access cookie to this host, Path=/ and Secure.
  private accessCookieAttributes(): SessionCookieAttributes {
    return { httpOnly: true, secure: this.options.cookies.secure, sameSite: 'lax', path: '/' };
  }

  // Only the refresh/logout routes receive it (its own path), never cross-site.
  private refreshCookieAttributes(): SessionCookieAttributes {
    return {
      httpOnly: true,
      secure: this.options.cookies.secure,
      sameSite: 'strict',
      path: this.options.cookies.refreshTokenPath,
    };
  }
}
