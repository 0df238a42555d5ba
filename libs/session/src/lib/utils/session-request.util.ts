import { expressHttpAdapter } from '../adapters/express-http.adapter';
import { SESSION_REQUEST_KEY } from '../constants';
import type { AuthenticatedSession, SessionPrincipal } from '../interfaces/authenticated.interface';
import type { HttpRequest, SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { SessionContext } from '../services/session.service';

type PrincipalCarrier = { user?: unknown; [SESSION_REQUEST_KEY]?: AuthenticatedSession };

/** The session `SessionGuard` authenticated this request with, if it did. */
export function sessionOf(request: HttpRequest): AuthenticatedSession | undefined {
  return (request as PrincipalCarrier)[SESSION_REQUEST_KEY];
}

/** Puts an authenticated principal on its request: the user as `request.user`, the session for `sessionOf`. */
export function attachPrincipal(request: HttpRequest, principal: SessionPrincipal): void {
  (request as PrincipalCarrier).user = principal.user;
  (request as PrincipalCarrier)[SESSION_REQUEST_KEY] = principal.session;
}

/**
 * The `SessionContext` of an HTTP request: its client IP (as the platform resolved it,
 * e.g. Express's `request.ip`) and user agent, read through `http` (Express's by default).
 */
export function sessionContextOf(request: HttpRequest, http: SessionHttpAdapter = expressHttpAdapter): SessionContext {
  return { ip: http.ip(request) ?? null, userAgent: http.header(request, 'user-agent') ?? null };
}
