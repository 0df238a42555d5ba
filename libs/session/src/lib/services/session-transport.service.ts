import { Inject, Injectable } from '@nestjs/common';
import type { CookieOptions, Request, Response } from 'express';
import { AUTH_MODE_HEADER } from '../constants';
import type { TokenTransport } from '../interfaces/authenticated.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { CsrfService } from './csrf.service';
import { SessionCookies } from './session-cookies.service';
import type { IssuedSession } from './session.service';

/** The public part of a session that responses may show. */
export interface SessionSummary {
  id: string;
  expiresAt: Date;
}

/** Body fields a login or refresh answers with; bearer mode adds the tokens. */
export type IssuedSessionBody =
  | { session: SessionSummary; csrfToken: string }
  | {
      accessToken: string;
      refreshToken: string;
      tokenType: 'Bearer';
      expiresIn: number;
      session: SessionSummary;
    };

/** An access token found on a request, and where it was found. */
export interface ExtractedAccessToken {
  token: string;
  transport: TokenTransport;
}

// RFC 7235 §2.1: the scheme name is case-insensitive.
const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i;

/**
 * Carries tokens between server and client in the two modes of the contract:
 * cookie mode (HttpOnly cookies, the browser default) and bearer mode
 * (`X-Auth-Mode: bearer`, tokens in JSON bodies). Tokens are never read from a URL.
 */
@Injectable()
export class SessionTransportService {
  /** Name of the access-token cookie (`__Host-` prefixed when secure). */
  readonly accessCookieName: string;
  /** Name of the refresh-token cookie (`__Secure-` prefixed when secure). */
  readonly refreshCookieName: string;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly csrf: CsrfService,
    private readonly cookies: SessionCookies,
  ) {
    // __Host- pins the cookie to this host, Path=/ and Secure; the refresh cookie needs a
    // narrower Path, which __Host- forbids, so it gets __Secure- (OWASP session cheat sheet).
    this.accessCookieName = cookies.accessName;
    this.refreshCookieName = cookies.refreshName;
  }

  /** Mode a register/login/refresh request asks for: bearer when it sends `X-Auth-Mode: bearer`. */
  requestedMode(request: Request): TokenTransport {
    const header = request.headers[AUTH_MODE_HEADER];
    return typeof header === 'string' && header.trim().toLowerCase() === 'bearer' ? 'bearer' : 'cookie';
  }

  /**
   * The access token of a request: the `Authorization: Bearer` header wins over the
   * cookie; a malformed bearer header yields an empty token (rejected as invalid).
   */
  extractAccessToken(request: Request): ExtractedAccessToken | undefined {
    const authorization = request.headers.authorization;
    if (authorization !== undefined && /^bearer(\s|$)/i.test(authorization)) {
      return { token: BEARER.exec(authorization)?.[1] ?? '', transport: 'bearer' };
    }
    const token = this.cookies.read(request, this.accessCookieName);
    return token ? { token, transport: 'cookie' } : undefined;
  }

  /**
   * The refresh token of a refresh/logout request: from the body in bearer mode, the
   * cookie otherwise. A refresh cookie sent twice, or naming another session than a valid
   * access cookie, is refused (401 `cookie_conflict`).
   */
  extractRefreshToken(request: Request): string | undefined {
    if (this.requestedMode(request) === 'bearer') {
      const body = request.body as Record<string, unknown> | undefined;
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
    request: Request,
    response: Response,
    issued: IssuedSession,
    mode: TokenTransport = this.requestedMode(request),
  ): IssuedSessionBody {
    this.noStore(response);
    const session = { id: issued.session.id, expiresAt: issued.session.expiresAt };
    if (mode === 'bearer') {
      const now = this.options.clock.now().getTime();
      return {
        accessToken: issued.accessToken,
        refreshToken: issued.refreshToken,
        tokenType: 'Bearer',
        expiresIn: Math.max(0, Math.floor((issued.accessTokenExpiresAt.getTime() - now) / 1000)),
        session,
      };
    }
    const now = this.options.clock.now().getTime();
    response.cookie(this.accessCookieName, issued.accessToken, {
      ...this.accessCookieOptions(),
      maxAge: Math.max(0, issued.accessTokenExpiresAt.getTime() - now),
    });
    response.cookie(this.refreshCookieName, issued.refreshToken, {
      ...this.refreshCookieOptions(),
      maxAge: Math.max(0, issued.session.expiresAt.getTime() - now),
    });
    // A new session needs a CSRF token bound to it (the old one named the previous session or none).
    return { session, csrfToken: this.csrf.issue(response, issued.session.id, issued.session.expiresAt) };
  }

  /** Clears the session cookies and asks the browser to drop its cookies (`Clear-Site-Data`). */
  clear(response: Response): void {
    this.noStore(response);
    response.clearCookie(this.accessCookieName, this.accessCookieOptions());
    response.clearCookie(this.refreshCookieName, this.refreshCookieOptions());
    this.csrf.clear(response);
    response.setHeader('Clear-Site-Data', '"cookies"');
  }

  /** Marks a response as never to be cached (every response that carries a token). */
  noStore(response: Response): void {
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Pragma', 'no-cache');
  }

  private accessCookieOptions(): CookieOptions {
    return { httpOnly: true, secure: this.options.cookies.secure, sameSite: 'lax', path: '/' };
  }

  private refreshCookieOptions(): CookieOptions {
    return {
      httpOnly: true,
      secure: this.options.cookies.secure,
      sameSite: 'strict',
      path: this.options.cookies.refreshTokenPath,
    };
  }
}
