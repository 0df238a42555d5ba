import { Controller, Inject, Injectable, Module, Optional, UseGuards } from '@nestjs/common';
import type { DynamicModule, OnModuleInit, Type } from '@nestjs/common';
import { ApplicationConfig, ModulesContainer } from '@nestjs/core';
import { SessionConfigError } from '../exceptions/session-config.error';
import { CsrfGuard } from '../guards/csrf.guard';
import { SessionGuard } from '../guards/session.guard';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { documentSessionRoutes } from './session-routes.openapi';
import {
  cookiePathMatches,
  joinRoutePath,
  resolveSessionRoutesOptions,
  ROUTES_ERROR_MESSAGES,
} from './session-routes.options';
import type { ResolvedSessionRoute, ResolvedSessionRoutesOptions, SessionRoutesOptions } from './session-routes.options';

/** Injection token of the resolved `SessionRoutesOptions` of one `forRoot`. */
export const SESSION_ROUTES_OPTIONS = Symbol('SessionRoutesOptions');
/** Injection token whose factory documents the routes for OpenAPI (true when `@nestjs/swagger` is there). */
const SESSION_ROUTES_OPENAPI = Symbol('SessionRoutesOpenApi');

// Where RouterModule keeps a module's path (per application id since Nest 11), read to
// check the refresh cookie's path against the real URL of the refresh route.
const MODULE_PATH = '__module_path__';

/**
 * Checks at boot what the routes need from the rest of the app: a reachable (global)
 * `SessionModule`, and a refresh cookie whose `Path` covers the routes that read it once the
 * global prefix and any `RouterModule` path are known.
 */
@Injectable()
export class SessionRoutesCheck implements OnModuleInit {
  constructor(
    @Inject(SESSION_ROUTES_OPTIONS) private readonly routes: ResolvedSessionRoutesOptions,
    @Optional() @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions | undefined,
    private readonly config: ApplicationConfig,
    private readonly modules: ModulesContainer,
  ) {
    // Providers are built before controllers: this message comes before Nest's generic one.
    if (!options) throw new SessionConfigError(ROUTES_ERROR_MESSAGES.noSessionModule, 'isGlobal');
  }

  onModuleInit(): void {
    const cookiePath = this.options?.cookies.refreshTokenPath ?? '/';
    const modulePath = Reflect.getMetadata(`${MODULE_PATH}${this.modules.applicationId}`, SessionRoutesModule) as
      | string
      | undefined;
    for (const route of this.routes.routes) {
      if (!route.needsRefreshCookie) continue;
      const path = joinRoutePath(this.config.getGlobalPrefix(), modulePath, this.routes.prefix, route.path);
      if (!cookiePathMatches(cookiePath, path)) {
        throw new SessionConfigError(ROUTES_ERROR_MESSAGES.refreshCookiePath(path, cookiePath), 'cookies.refreshTokenPath');
      }
    }
  }
}

/** A subclass of the route's template with its own path and guards (so nothing is shared between apps). */
function mount(route: ResolvedSessionRoute, prefix: string): Type<unknown> {
  const mounted = class extends (route.template as Type<object>) {};
  Object.defineProperty(mounted, 'name', { value: route.className });
  Controller(prefix)(mounted);
  // Route-level, so the routes are guarded whether or not the app mounts these guards
  // globally; both are idempotent per request, so a global pair costs nothing twice.
  UseGuards(SessionGuard, CsrfGuard, ...route.guards)(mounted);
  return mounted;
}

/**
 * The session routes of the contract, from the library: `GET csrf`, `POST refresh`,
 * `POST logout`, `POST logout-all`, `GET sessions`, `DELETE sessions/:id`, under a prefix
 * (`auth` by default). The app keeps only what is its own (register, login: a login
 * handler checks the credentials, then calls `SessionEndpoints.login`).
 *
 * Needs `SessionModule` registered with `isGlobal: true`. Every route runs `SessionGuard`
 * and `CsrfGuard` itself (whether or not the app mounts them globally), then the extra
 * guards of the options. A route turned off is not registered at all. With
 * `@nestjs/swagger` installed, the routes appear in the app's OpenAPI document.
 */
@Module({})
export class SessionRoutesModule {
  /** Serves the session routes; see `SessionRoutesOptions`. */
  static forRoot(options: SessionRoutesOptions = {}): DynamicModule {
    const resolved = resolveSessionRoutesOptions(options);
    return {
      module: SessionRoutesModule,
      controllers: resolved.routes.map((route) => mount(route, resolved.prefix)),
      providers: [
        { provide: SESSION_ROUTES_OPTIONS, useValue: resolved },
        // Built while the app is created, so before SwaggerModule.createDocument can run.
        { provide: SESSION_ROUTES_OPENAPI, useFactory: () => documentSessionRoutes() },
        SessionRoutesCheck,
      ],
    };
  }
}
