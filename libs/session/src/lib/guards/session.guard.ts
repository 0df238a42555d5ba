import { HttpException, Inject, Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthErrorCode, FRESH_SESSION_KEY, IS_PUBLIC_KEY, ROLES_KEY } from '../constants';
import type { FreshSessionRequirement } from '../decorators/require-fresh-session.decorator';
import {
  SessionForbiddenException,
  SessionReauthenticationRequiredException,
  SessionUnauthorizedException,
} from '../exceptions/session-auth.exception';
import { SessionUnavailableException } from '../exceptions/session-unavailable.exception';
import type { AuthenticatedSession, AuthenticatedUser, SessionPrincipal } from '../interfaces/authenticated.interface';
import { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { HttpRequest, HttpResponse } from '../interfaces/session-http-adapter.interface';
import { SessionAuthenticator } from '../services/session-authenticator.service';
import { httpRequestOf, httpResponseOf, principalCarrierOf } from '../utils/execution-context.util';
import { attachPrincipal, principalOf } from '../utils/session-request.util';

/** What the decorators of one route ask for. */
export interface RouteAccess {
  isPublic: boolean;
  roles: string[] | undefined;
  /** `@RequireFreshSession()`'s maximum age in milliseconds (the module default filled in); undefined when not required. */
  freshMaxAgeMs: number | undefined;
}

/**
 * Authenticates every request that is not `@Public()` and enforces `@Roles()` and
 * `@RequireFreshSession()`.
 * Register it as the app's global guard (`{ provide: APP_GUARD, useExisting: SessionGuard }`).
 *
 * It calls this module's `SessionAuthenticator` directly rather than a strategy through
 * passport's process-wide registry: `AuthGuard()` looks strategies up by name on one
 * singleton, so two apps in one process (tests, multi-tenant hosts) would silently
 * share the last one registered; and a direct call needs no per-request passport
 * action object on the hot path.
 * Every step is a protected method a subclass can override. It fails closed.
 *
 * It is idempotent per request: a request that already carries a principal (a global
 * `SessionGuard` ran, then a route-level one, as on the routes of `SessionRoutesModule`)
 * is not authenticated again (in `strict` mode that would read the store twice); only
 * the route's `@Roles()` are checked.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  // Decorator metadata is fixed once classes are defined, so each route's is read once
  // (keyed by controller class, then handler: an inherited handler can serve two classes).
  private readonly routes = new WeakMap<object, WeakMap<object, RouteAccess>>();

  constructor(
    protected readonly reflector: Reflector,
    protected readonly authenticator: SessionAuthenticator,
    @Inject(SessionHttpAdapter) protected readonly http: SessionHttpAdapter,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    if (context.getType<string>() === 'ws') return this.activateSocket(context);
    // An HTTP route, or a GraphQL operation carried by an HTTP request; anything else
    // (RPC, a GraphQL subscription over a socket) has no credential here: fail closed.
    const request = httpRequestOf(context);
    if (!request) throw new SessionUnauthorizedException(AuthErrorCode.TokenMissing);
    const existing = principalOf(request);
    if (existing) {
      this.checkRoles(context, existing.user);
      this.checkFreshness(context, existing.session);
      return true;
    }
    let outcome: SessionPrincipal | Promise<SessionPrincipal>;
    try {
      outcome = this.authenticate(request);
    } catch (error) {
      throw this.handleFailure(error, request, httpResponseOf(context));
    }
    // stateless / cached modes settle synchronously: no promise (and no closure) on the hot path.
    if (!(outcome instanceof Promise)) return this.accept(context, request, outcome);
    return outcome.then(
      (principal) => this.accept(context, request, principal),
      (error: unknown) => {
        throw this.handleFailure(error, request, httpResponseOf(context));
      },
    );
  }

  /**
   * A WebSocket message: the socket was authenticated at its handshake and carries its
   * principal (a socket whose session ends is closed, so it never outlives it); only the
   * handler's `@Roles()` are checked. A socket without a principal is refused.
   */
  protected activateSocket(context: ExecutionContext): boolean {
    const carrier = principalCarrierOf(context);
    const principal = carrier && principalOf(carrier);
    if (!principal) throw new SessionUnauthorizedException(AuthErrorCode.TokenMissing);
    this.checkRoles(context, principal.user);
    // The handshake's authentication time: a socket never looks fresher than it was.
    this.checkFreshness(context, principal.session);
    return true;
  }

  /** Whether the handler or its controller is marked `@Public()`. */
  protected isPublic(context: ExecutionContext): boolean {
    return this.routeAccess(context).isPublic;
  }

  /** `@Public()` and `@Roles()` of the route, read through the `Reflector` on its first request. */
  protected routeAccess(context: ExecutionContext): RouteAccess {
    const controller = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.routes.get(controller);
    if (!byHandler) {
      byHandler = new WeakMap();
      this.routes.set(controller, byHandler);
    }
    let access = byHandler.get(handler);
    if (!access) {
      const targets = [handler, controller];
      const fresh = this.reflector.getAllAndOverride<FreshSessionRequirement | undefined>(FRESH_SESSION_KEY, targets);
      access = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets) === true,
        roles: this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets),
        freshMaxAgeMs: fresh ? (fresh.maxAgeMs ?? this.authenticator.freshSessionMaxAgeMs) : undefined,
      };
      byHandler.set(handler, access);
    }
    return access;
  }

  /**
   * Authenticates the request (`SessionAuthenticator.authenticate`): returns the
   * principal, or a promise of it in `strict` mode; throws or rejects on failure.
   */
  protected authenticate(request: HttpRequest): SessionPrincipal | Promise<SessionPrincipal> {
    return this.authenticator.authenticate(request);
  }

  /**
   * Puts the principal on the request (`request.user`, `sessionOf(request)`), then checks
   * `@Roles()` and `@RequireFreshSession()`.
   */
  protected accept(context: ExecutionContext, request: HttpRequest, principal: SessionPrincipal): boolean {
    attachPrincipal(request, principal);
    this.checkRoles(context, principal.user);
    this.checkFreshness(context, principal.session);
    return true;
  }

  /**
   * Throws 401 `reauthentication_required` when the route has `@RequireFreshSession()` and
   * the user proved a credential longer ago than it allows, or the session has no
   * authentication time (a token issued without `auth_time`). The time is
   * `session.authenticatedAt`: the session record's in `strict` mode, the access token's
   * `auth_time` otherwise (OIDC Core §2; a token issued before a `markAuthenticated` is
   * staler, never fresher). A bearer request's response gets the RFC 9470 challenge
   * (`WWW-Authenticate: Bearer error="insufficient_user_authentication", max_age=...`);
   * cookie requests get the same 401 body without it. The response is looked up only then:
   * this runs on every authenticated request.
   */
  protected checkFreshness(context: ExecutionContext, session: AuthenticatedSession): void {
    const maxAgeMs = this.routeAccess(context).freshMaxAgeMs;
    if (maxAgeMs === undefined) return;
    // auth_time has a resolution of one second: the age is measured from the second it names.
    if (this.authenticator.authenticatedWithin(session, maxAgeMs)) return;
    const bearer = session.transport === 'bearer';
    const failure = new SessionReauthenticationRequiredException(Math.max(0, Math.floor(maxAgeMs / 1000)), bearer);
    this.authenticator.recordFailure(failure);
    const response = bearer ? httpResponseOf(context) : undefined;
    if (response) this.http.setHeader(response, 'WWW-Authenticate', failure.challenge);
    throw failure;
  }

  /**
   * Turns any failure into a 401 with a stable code (anything unexpected fails closed);
   * bearer requests get `WWW-Authenticate`. A store outage is a 503 `store_unavailable`
   * with `Retry-After` (and no `WWW-Authenticate`: the token was not found invalid).
   */
  protected handleFailure(error: unknown, _request: HttpRequest, response: HttpResponse | undefined): HttpException {
    const failure = error instanceof HttpException ? error : this.authenticator.refusal(error, false);
    this.authenticator.recordFailure(failure);
    if (!response) return failure;
    if (failure instanceof SessionUnauthorizedException && failure.bearer) {
      this.http.setHeader(response, 'WWW-Authenticate', 'Bearer error="invalid_token"');
    } else if (failure instanceof SessionUnavailableException) {
      this.http.setHeader(response, 'Retry-After', String(failure.retryAfterSeconds));
    }
    return failure;
  }

  /** Throws 403 unless the user holds one of the roles named by `@Roles()`, if any. */
  protected checkRoles(context: ExecutionContext, user: AuthenticatedUser): void {
    const required = this.routeAccess(context).roles;
    if (required && required.length > 0 && !required.some((role) => user.roles.includes(role))) {
      throw new SessionForbiddenException();
    }
  }
}
