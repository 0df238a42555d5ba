import { HttpException, Injectable, Logger } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { AuthErrorCode, IS_PUBLIC_KEY, ROLES_KEY, SESSION_REQUEST_KEY } from '../constants';
import { SessionForbiddenException, SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { AuthenticatedUser } from '../interfaces/authenticated.interface';
import { SessionJwtStrategy, TOKEN_TRANSPORT_KEY } from '../strategies/session-jwt.strategy';
import type { SessionPrincipal } from '../strategies/session-jwt.strategy';

/** What the decorators of one route ask for. */
interface RouteAccess {
  isPublic: boolean;
  roles: string[] | undefined;
}

/**
 * Authenticates every request that is not `@Public()` and enforces `@Roles()`.
 * Register it as the app's global guard (`{ provide: APP_GUARD, useExisting: SessionGuard }`).
 *
 * It runs the strategy instance of this module directly rather than through
 * passport's process-wide registry: `AuthGuard()` looks strategies up by name on one
 * singleton, so two apps in one process (tests, multi-tenant hosts) would silently
 * share the last one registered; and a direct call needs no per-request passport
 * action object on the hot path.
 * Every step is a protected method a subclass can override. It fails closed.
 */
@Injectable()
export class SessionGuard implements CanActivate {
  private readonly logger = new Logger(SessionGuard.name);
  // Decorator metadata is fixed once classes are defined, so each route's is read once
  // (keyed by controller class, then handler: an inherited handler can serve two classes).
  private readonly routes = new WeakMap<object, WeakMap<object, RouteAccess>>();

  constructor(
    protected readonly reflector: Reflector,
    protected readonly strategy: SessionJwtStrategy,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (this.isPublic(context)) return true;
    if (context.getType() !== 'http') throw new SessionUnauthorizedException(AuthErrorCode.TokenMissing);
    const http = context.switchToHttp();
    const request = http.getRequest<Request & Record<string, unknown>>();
    const fail = (error: unknown): never => {
      throw this.handleFailure(error, request, http.getResponse<Response>());
    };
    const accept = (principal: SessionPrincipal): boolean => {
      request.user = principal.user;
      request[SESSION_REQUEST_KEY] = principal.session;
      this.checkRoles(context, principal.user);
      return true;
    };
    let outcome: SessionPrincipal | Promise<SessionPrincipal>;
    try {
      outcome = this.authenticate(request);
    } catch (error) {
      return fail(error);
    }
    // stateless / cached modes settle synchronously: no promise on the hot path.
    return outcome instanceof Promise ? outcome.then(accept, fail) : accept(outcome);
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
      access = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, targets) === true,
        roles: this.reflector.getAllAndOverride<string[] | undefined>(ROLES_KEY, targets),
      };
      byHandler.set(handler, access);
    }
    return access;
  }

  /**
   * Runs this module's passport strategy on the request (`resolve`, the step its
   * `authenticate` wraps): returns the principal, or a promise of it when the strategy
   * needs I/O (`strict` mode); throws or rejects on failure.
   */
  protected authenticate(request: Request): SessionPrincipal | Promise<SessionPrincipal> {
    return this.strategy.resolve(request);
  }

  /** Turns any failure into a 401 with a stable code; bearer requests get `WWW-Authenticate`. */
  protected handleFailure(error: unknown, request: Request, response: Response): HttpException {
    const failure = this.toUnauthorized(error, request);
    if (failure instanceof SessionUnauthorizedException && failure.bearer) {
      response.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
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

  private toUnauthorized(error: unknown, request: Request): HttpException {
    const bearer = (request as Request & Record<string, unknown>)[TOKEN_TRANSPORT_KEY] === 'bearer';
    if (error instanceof SessionUnauthorizedException) {
      return error.bearer === bearer ? error : new SessionUnauthorizedException(error.code, bearer);
    }
    if (error instanceof HttpException) return error;
    // Anything else (a store outage, a bug) fails closed; log the kind, never the details.
    this.logger.warn(`Authentication failed unexpectedly (${error instanceof Error ? error.name : typeof error})`);
    return new SessionUnauthorizedException(AuthErrorCode.TokenInvalid, bearer);
  }
}
