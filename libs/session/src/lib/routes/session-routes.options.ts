import type { CanActivate, Type } from '@nestjs/common';
import { SessionConfigError } from '../exceptions/session-config.error';
import { CsrfRoute, LogoutAllRoute, LogoutRoute, RefreshRoute, RevokeSessionRoute, SessionsRoute } from './session-route.controllers';

/** The routes `SessionRoutesModule` can serve, by option name. */
export type SessionRouteName = 'csrf' | 'refresh' | 'logout' | 'logoutAll' | 'sessions' | 'revokeSession';

/** One route's setting: `false` leaves it out (the app may serve its own at that path). */
export type SessionRouteSetting =
  | boolean
  | {
      /** Guards run after Tessera's (and after the module's `guards`), resolved through Nest DI. Default: none. */
      guards?: Type<CanActivate>[];
    };

/** Options of `SessionRoutesModule.forRoot`. */
export interface SessionRoutesOptions {
  /** Path the routes are served under (`csrf` is `<prefix>/csrf`); `''` serves them at the root. Default: `'auth'`. */
  prefix?: string;
  /**
   * Each route by name: `true` serves it, `false` leaves it out, `{ guards }` serves it
   * behind extra guards. Default: every route served.
   */
  routes?: Partial<Record<SessionRouteName, SessionRouteSetting>>;
  /** Guards every route runs after Tessera's, resolved through Nest DI. Default: none. */
  guards?: Type<CanActivate>[];
}

/** The template of one route, and the path it answers under the prefix. */
export interface SessionRouteTemplate {
  name: SessionRouteName;
  /** Name of the class mounted for it (shown as the OpenAPI operationId's prefix). */
  className: string;
  template: Type<unknown>;
  /** Path below the prefix, as Nest matches it. */
  path: string;
  /** Whether the route receives the refresh cookie (so must sit under its `Path`). */
  needsRefreshCookie: boolean;
}

/** Every route the module knows, in the order they are mounted. */
export const SESSION_ROUTE_TEMPLATES: readonly SessionRouteTemplate[] = [
  // GET csrf reads the refresh cookie to bind the token once the access cookie has expired.
  { name: 'csrf', className: 'SessionCsrfController', template: CsrfRoute, path: 'csrf', needsRefreshCookie: true },
  { name: 'refresh', className: 'SessionRefreshController', template: RefreshRoute, path: 'refresh', needsRefreshCookie: true },
  { name: 'logout', className: 'SessionLogoutController', template: LogoutRoute, path: 'logout', needsRefreshCookie: false },
  {
    name: 'logoutAll',
    className: 'SessionLogoutAllController',
    template: LogoutAllRoute,
    path: 'logout-all',
    needsRefreshCookie: false,
  },
  { name: 'sessions', className: 'SessionListController', template: SessionsRoute, path: 'sessions', needsRefreshCookie: false },
  {
    name: 'revokeSession',
    className: 'SessionRevokeController',
    template: RevokeSessionRoute,
    path: 'sessions/:id',
    needsRefreshCookie: false,
  },
];

/** One route as the module mounts it. */
export interface ResolvedSessionRoute extends SessionRouteTemplate {
  /** Extra guards: the module's, then the route's own. */
  guards: Type<CanActivate>[];
}

/** `SessionRoutesOptions` merged with their defaults and checked. */
export interface ResolvedSessionRoutesOptions {
  /** Without leading or trailing slashes; `''` for the root. */
  prefix: string;
  /** The enabled routes only. */
  routes: ResolvedSessionRoute[];
}

/** Messages of `SessionRoutesModule` configuration errors. */
export const ROUTES_ERROR_MESSAGES = {
  badPrefix: (value: unknown) =>
    `SessionRoutesModule option "prefix" must be a path such as "auth" or "api/auth" (got ${JSON.stringify(value)}).`,
  unknownRoute: (name: string) =>
    `SessionRoutesModule option "routes" has no route "${name}"; the routes are ${SESSION_ROUTE_TEMPLATES.map((route) => route.name).join(', ')}.`,
  badRouteSetting: (name: string) =>
    `SessionRoutesModule option "routes.${name}" must be true, false or { guards: [...] }.`,
  badGuards: (option: string) => `SessionRoutesModule option "${option}" must be an array of guard classes.`,
  noSessionModule:
    'SessionRoutesModule needs SessionModule in the same app, registered globally: SessionModule.forRoot({ isGlobal: true, ... }) ' +
    '(or forRootAsync({ isGlobal: true, ... })).',
  refreshCookiePath: (path: string, cookiePath: string) =>
    `SessionRoutesModule serves ${path}, but the refresh cookie is only sent to paths under "${cookiePath}" ` +
    `(SessionModule option "cookies.refreshTokenPath"): set that option to the routes' prefix (with any global prefix), ` +
    `for example "${path.slice(0, path.lastIndexOf('/')) || '/'}".`,
} as const;

// Segments of letters, digits and - _ . ~, separated by single slashes (no parameters, no wildcards).
const PREFIX_PATTERN = /^(?:[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*)?$/;

/** Merges `SessionRoutesOptions` with their defaults; throws `SessionConfigError` on a bad value. */
export function resolveSessionRoutesOptions(options: SessionRoutesOptions = {}): ResolvedSessionRoutesOptions {
  const rawPrefix = options.prefix ?? 'auth';
  const prefix = typeof rawPrefix === 'string' ? rawPrefix.replace(/^\/+|\/+$/g, '') : undefined;
  if (prefix === undefined || !PREFIX_PATTERN.test(prefix)) {
    throw new SessionConfigError(ROUTES_ERROR_MESSAGES.badPrefix(rawPrefix), 'prefix');
  }
  const shared = guardList(options.guards, 'guards');
  const settings = options.routes ?? {};
  if (typeof settings !== 'object' || settings === null) {
    throw new SessionConfigError(ROUTES_ERROR_MESSAGES.badRouteSetting('*'), 'routes');
  }
  for (const name of Object.keys(settings)) {
    if (!SESSION_ROUTE_TEMPLATES.some((route) => route.name === name)) {
      throw new SessionConfigError(ROUTES_ERROR_MESSAGES.unknownRoute(name), `routes.${name}`);
    }
  }
  const routes: ResolvedSessionRoute[] = [];
  for (const template of SESSION_ROUTE_TEMPLATES) {
    const setting = settings[template.name] ?? true;
    if (setting === false) continue;
    if (setting === true) {
      routes.push({ ...template, guards: [...shared] });
    } else if (typeof setting === 'object' && setting !== null && !Array.isArray(setting)) {
      routes.push({ ...template, guards: [...shared, ...guardList(setting.guards, `routes.${template.name}.guards`)] });
    } else {
      throw new SessionConfigError(ROUTES_ERROR_MESSAGES.badRouteSetting(template.name), `routes.${template.name}`);
    }
  }
  return { prefix, routes };
}

function guardList(value: unknown, option: string): Type<CanActivate>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((guard) => typeof guard === 'function')) {
    throw new SessionConfigError(ROUTES_ERROR_MESSAGES.badGuards(option), option);
  }
  return value as Type<CanActivate>[];
}

/**
 * Whether a cookie with `Path=cookiePath` is sent with a request for `requestPath`
 * (RFC 6265 §5.1.4 path-match).
 */
export function cookiePathMatches(cookiePath: string, requestPath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}

/** Joins path parts the way Nest does: one leading slash, single separators, no trailing slash. */
export function joinRoutePath(...parts: Array<string | undefined>): string {
  const segments = parts
    .map((part) => (part ?? '').replace(/^\/+|\/+$/g, ''))
    .filter((part) => part.length > 0);
  return `/${segments.join('/')}`;
}
