import { Inject, Injectable, Logger } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SKIP_CSRF_KEY } from '../constants';
import { CsrfFailedException } from '../exceptions/session-auth.exception';
import { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { HttpRequest } from '../interfaces/session-http-adapter.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { CsrfService } from '../services/csrf.service';
import { SessionEvents } from '../services/session-events.service';
import { SessionTransportService } from '../services/session-transport.service';
import { safeEqual } from '../utils/crypto.util';
import { httpRequestOf } from '../utils/execution-context.util';
import { sessionContextOf, sessionOf } from '../utils/session-request.util';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Marks a request whose CSRF checks passed, so a second `CsrfGuard` on it does not check again. */
const CSRF_CHECKED = Symbol('tessera.csrfChecked');

/** Why a request was refused (for logs and audit events; never sent to the client). */
export type CsrfRefusal =
  | 'cross_site_fetch'
  | 'origin_not_allowed'
  | 'referer_not_allowed'
  | 'token_missing'
  | 'token_mismatch'
  | 'token_invalid';

/**
 * Refuses cross-site unsafe requests that would ride on the session cookies. Register
 * it after `SessionGuard` (`APP_GUARD`, in that order) so it knows how the request
 * authenticated. Safe methods (GraphQL: queries), bearer-mode requests (no ambient credentials) and
 * `@SkipCsrf()` routes pass. Otherwise, in order: `Sec-Fetch-Site: cross-site` is
 * refused; an `Origin` (else a `Referer`) outside the allowed origins is refused; the
 * `X-CSRF-Token` header must equal the CSRF cookie (constant-time), carry our signature,
 * and be bound to this request's session. Refusals: 403 `csrf_failed` and an event.
 * A request that passed the checks once (a global `CsrfGuard`, then a route-level one)
 * passes again without re-checking.
 */
@Injectable()
export class CsrfGuard implements CanActivate {
  private readonly logger = new Logger(CsrfGuard.name);

  constructor(
    protected readonly reflector: Reflector,
    protected readonly csrf: CsrfService,
    protected readonly events: SessionEvents,
    protected readonly transport: SessionTransportService,
    @Inject(RESOLVED_SESSION_OPTIONS) protected readonly options: ResolvedSessionOptions,
    @Inject(SessionHttpAdapter) protected readonly http: SessionHttpAdapter,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.options.csrf.enabled) return true;
    const request = this.unsafeRequestOf(context);
    if (!request || this.isBearer(request) || this.isSkipped(context)) return true;
    if ((request as { [CSRF_CHECKED]?: true })[CSRF_CHECKED]) return true;
    const refusal = this.check(request);
    if (refusal) throw this.refuse(request, refusal);
    (request as { [CSRF_CHECKED]?: true })[CSRF_CHECKED] = true;
    return true;
  }

  /**
   * The request to check, or undefined when the call cannot change state:
   * - HTTP: unsafe methods only (`GET`, `HEAD`, `OPTIONS` are safe, RFC 9110 section 9.2.1;
   *   OWASP CSRF cheat sheet: state must never change on them);
   * - GraphQL: by the operation, not the HTTP method. A `query` is read-only by the
   *   GraphQL spec (its resolvers must not mutate: a cross-site page cannot read the
   *   answer anyway), so it passes over GET or POST; a `mutation` (or a subscription
   *   started over HTTP, or an operation of unknown type) is checked like an unsafe HTTP
   *   request whatever its method, so a server that accepts mutations over GET is still
   *   covered (Apollo refuses them);
   * - WebSockets and RPC: nothing here (a socket's handshake is checked when it opens).
   */
  protected unsafeRequestOf(context: ExecutionContext): HttpRequest | undefined {
    const type = context.getType<string>();
    if (type === 'http') {
      const request = context.switchToHttp().getRequest<HttpRequest>();
      return SAFE_METHODS.has(this.http.method(request).toUpperCase()) ? undefined : request;
    }
    if (type !== 'graphql') return undefined;
    const info = context.getArgByIndex(3) as { operation?: { operation?: unknown } } | undefined;
    if (info?.operation?.operation === 'query') return undefined;
    return httpRequestOf(context);
  }

  /**
   * Requests that carry no ambient credential: authenticated by a bearer header, or, on
   * public routes (register, login, refresh), asking for bearer mode with `X-Auth-Mode`,
   * the same test the handlers use to decide not to read or set cookies. A custom header
   * cannot be sent cross-site without a CORS preflight. A bare `Authorization` header on
   * a public route exempts nothing: nothing there checks it, and the handler would still
   * work in cookie mode.
   */
  protected isBearer(request: HttpRequest): boolean {
    const session = sessionOf(request);
    if (session) return session.transport === 'bearer';
    return this.transport.requestedMode(request) === 'bearer';
  }

  protected isSkipped(context: ExecutionContext): boolean {
    return this.reflector.getAllAndOverride<boolean>(SKIP_CSRF_KEY, [context.getHandler(), context.getClass()]) === true;
  }

  /** Returns why the request must be refused, or undefined to let it through. */
  protected check(request: HttpRequest): CsrfRefusal | undefined {
    if (this.http.header(request, 'sec-fetch-site') === 'cross-site') return 'cross_site_fetch';
    const origin = this.http.header(request, 'origin');
    if (origin !== undefined) {
      if (!this.isAllowedOrigin(request, origin)) return 'origin_not_allowed';
    } else {
      const referer = this.http.header(request, 'referer');
      if (referer !== undefined && !this.isAllowedOrigin(request, this.originOf(referer))) return 'referer_not_allowed';
    }
    const { header, cookie } = this.csrf.presented(request);
    if (!header || !cookie) return 'token_missing';
    if (!safeEqual(header, cookie)) return 'token_mismatch';
    if (!this.csrf.isValid(header, this.csrf.bindingFor(request))) return 'token_invalid';
    return undefined;
  }

  private isAllowedOrigin(request: HttpRequest, origin: string | undefined): boolean {
    if (!origin || origin === 'null') return false;
    const allowed = this.options.csrf.allowedOrigins;
    if (allowed.length > 0) return allowed.includes(origin);
    // No list configured: same origin as the request's own host only.
    const host = this.http.header(request, 'host');
    return host !== undefined && origin === `${this.http.protocol(request)}://${host}`;
  }

  private originOf(url: string): string | undefined {
    try {
      const origin = new URL(url).origin;
      return origin === 'null' ? undefined : origin;
    } catch {
      return undefined;
    }
  }

  private refuse(request: HttpRequest, reason: CsrfRefusal): CsrfFailedException {
    const session = sessionOf(request);
    this.logger.warn(`Refused ${this.http.method(request)} (${reason})`);
    this.events.emit({
      type: 'csrf.refused',
      at: this.options.clock.now(),
      userId: session?.userId ?? null,
      sessionFingerprint: session ? this.events.fingerprint(session.id) : null,
      reason,
      ...sessionContextOf(request, this.http),
    });
    return new CsrfFailedException();
  }
}
