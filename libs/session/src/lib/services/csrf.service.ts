import { Inject, Injectable } from '@nestjs/common';
import { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { HttpRequest, HttpResponse, SessionCookieAttributes } from '../interfaces/session-http-adapter.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { hmac, randomToken, safeEqual } from '../utils/crypto.util';
import { sessionOf } from '../utils/session-request.util';
import { SessionCookies } from './session-cookies.service';
import { SessionService } from './session.service';

const TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * Signed double-submit CSRF tokens (OWASP CSRF cheat sheet, "signed double-submit
 * cookie"): `<random>.<HMAC(sessionSecret, binding, random)>`, where the binding is the
 * session id once a session exists and empty before login. The page reads the token
 * from the `__Host-` cookie and echoes it in the `X-CSRF-Token` header; a cross-site
 * attacker can neither read the cookie nor mint a token bound to the victim's session.
 */
@Injectable()
export class CsrfService {
  private readonly cookieName: string;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly sessions: SessionService,
    private readonly cookies: SessionCookies,
    @Inject(SessionHttpAdapter) private readonly http: SessionHttpAdapter,
  ) {
    this.cookieName = options.cookies.names.csrf;
  }

  /**
   * Mints a token bound to `sessionId` (or unbound, before login) and sets the cookie.
   * A bound cookie lives as long as the session (`expiresAt`), like the refresh cookie,
   * so a browser restart does not leave a page unable to refresh.
   */
  issue(response: HttpResponse, sessionId: string | undefined, expiresAt?: Date): string {
    const nonce = randomToken(16);
    const token = `${nonce}.${this.mac(sessionId ?? '', nonce)}`;
    const attributes = this.cookieAttributes();
    if (expiresAt) attributes.maxAge = Math.max(0, expiresAt.getTime() - this.options.clock.now().getTime());
    this.http.setCookie(response, this.cookieName, token, attributes);
    return token;
  }

  /**
   * The session a freshly minted token may be bound to (`GET /auth/csrf`): the
   * authenticated one, or the one a valid access cookie names. Failing those, the one
   * whose current refresh token is in the refresh cookie, but only when this browser's
   * CSRF cookie is already bound to that session: the `__Host-` CSRF cookie cannot be
   * set by a sibling subdomain, while a `__Secure-` refresh cookie can ("cookie
   * tossing"); without that anchor the page would get a token for the attacker's
   * session and refresh into it (login CSRF). Cookies that conflict are refused.
   */
  async verifiedBindingFor(request: HttpRequest): Promise<string | undefined> {
    const authenticated = sessionOf(request);
    if (authenticated) return authenticated.id;
    const claimed = this.cookies.cookieSession(request);
    if (claimed === undefined) return undefined;
    if (claimed === this.cookies.accessCookieSession(request)) return claimed;
    const refresh = this.cookies.refreshCookie(request);
    const held = this.cookies.read(request, this.cookieName);
    if (!refresh || !held || !this.isValid(held, claimed)) return undefined;
    return this.sessions.sessionOfRefreshToken(refresh);
  }

  /** Expires the token cookie. */
  clear(response: HttpResponse): void {
    this.http.clearCookie(response, this.cookieName, this.cookieAttributes());
  }

  /** Whether `token` is well formed, signed by us, and bound to `sessionId` (or unbound when undefined). */
  isValid(token: string, sessionId: string | undefined): boolean {
    const match = TOKEN_PATTERN.exec(token);
    return match !== null && safeEqual(match[2], this.mac(sessionId ?? '', match[1]));
  }

  /**
   * The header and cookie values of a request (the header undefined when absent or
   * repeated; a repeated cookie is refused with 401 `cookie_conflict`).
   */
  presented(request: HttpRequest): { header: string | undefined; cookie: string | undefined } {
    return {
      header: this.http.header(request, this.options.csrf.headerName),
      cookie: this.cookies.read(request, this.cookieName),
    };
  }

  /**
   * The session a request's token must be bound to (the guard's expectation; the MAC
   * makes an unverified id harmless here): the authenticated one when a guard ran, else
   * the one its cookies name (a valid access cookie, or the refresh cookie: a refresh
   * whose access cookie has expired is bound to the session it rotates), else none.
   * An access cookie and a refresh cookie of two sessions are refused (`cookie_conflict`).
   */
  bindingFor(request: HttpRequest): string | undefined {
    const authenticated = sessionOf(request);
    if (authenticated) return authenticated.id;
    return this.cookies.cookieSession(request);
  }

  // Readable by the page (it must echo the token in the header), sent to every path.
  private cookieAttributes(): SessionCookieAttributes {
    return { httpOnly: false, secure: this.options.cookies.secure, sameSite: 'lax', path: '/' };
  }

  private mac(binding: string, nonce: string): string {
    return hmac(this.options.sessionKey, `tessera.csrf.${binding}.${nonce}`);
  }
}
