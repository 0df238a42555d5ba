import { platformHttpAdapter } from '../adapters/platform-http.adapter';
import { SESSION_REQUEST_KEY } from '../constants';
import type { AuthenticatedSession, AuthenticatedUser, SessionPrincipal } from '../interfaces/authenticated.interface';
import type { HttpRequest, SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { SessionContext } from '../services/session.service';
import { clientHintsOf } from './device.util';

type PrincipalCarrier = { user?: unknown; [SESSION_REQUEST_KEY]?: AuthenticatedSession };

/** The session `SessionGuard` authenticated this request with, if it did. */
export function sessionOf(request: HttpRequest): AuthenticatedSession | undefined {
  return (request as PrincipalCarrier)[SESSION_REQUEST_KEY];
}

/**
 * The principal `SessionGuard` put on this request (its user and session), if it did and
 * `request.user` still holds the user it set; so a second guard on the same request
 * (route-level after a global one) need not authenticate again.
 */
export function principalOf(request: HttpRequest): SessionPrincipal | undefined {
  const carrier = request as PrincipalCarrier;
  const session = carrier[SESSION_REQUEST_KEY];
  const user = carrier.user as Partial<AuthenticatedUser> | undefined;
  if (!session || typeof user !== 'object' || user === null || !Array.isArray(user.roles)) return undefined;
  return { user: user as AuthenticatedUser, session };
}

/** Puts an authenticated principal on its request: the user as `request.user`, the session for `sessionOf`. */
export function attachPrincipal(request: HttpRequest, principal: SessionPrincipal): void {
  (request as PrincipalCarrier).user = principal.user;
  (request as PrincipalCarrier)[SESSION_REQUEST_KEY] = principal.session;
}

/**
 * The `SessionContext` of an HTTP request: its client IP (as the platform resolved it,
 * e.g. Express's `request.ip`), user agent and User-Agent Client Hints (when sent), read through `http` (`PlatformHttpAdapter` by default).
 */
export function sessionContextOf(request: HttpRequest, http: SessionHttpAdapter = platformHttpAdapter): SessionContext {
  const context: SessionContext = { ip: http.ip(request) ?? null, userAgent: http.header(request, 'user-agent') ?? null };
  const clientHints = clientHintsOf((name) => http.header(request, name));
  if (clientHints) context.clientHints = clientHints;
  return context;
}
