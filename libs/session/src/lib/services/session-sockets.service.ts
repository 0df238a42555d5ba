import { HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { AUTH_ERROR_MESSAGES, AuthErrorCode } from '../constants';
import { CsrfFailedException, SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { SessionPrincipal, TokenTransport } from '../interfaces/authenticated.interface';
import { SESSION_SOCKET_EVENTS } from '../interfaces/session-socket.interface';
import type {
  SessionEndedEvent,
  SessionSocket,
  SessionSocketMiddleware,
  SessionSocketServer,
} from '../interfaces/session-socket.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { BoundedMap } from '../utils/bounded-map';
import { DuplicateCookieError, readCookie } from '../utils/cookie.util';
import { attachPrincipal, sessionOf } from '../utils/session-request.util';
import { RevocationCache } from './revocation-cache.service';
import { SessionAuthenticator } from './session-authenticator.service';
import { SessionEvents } from './session-events.service';

/** What `SessionSockets` keeps of one open socket. */
interface TrackedSocket {
  sessionId: string;
  /** When its access token expires (ms since the epoch). */
  expiresAtMs: number;
  timer: NodeJS.Timeout | undefined;
}

/** A credential found in a handshake. */
interface HandshakeCredential {
  token: string;
  transport: TokenTransport;
}

// Node's timers take at most 2^31 - 1 ms (about 24.8 days); a longer wait is made of several.
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * How long a revocation is remembered for handshakes still being checked: the check of a
 * `strict` handshake reads the store, and the feed's announcement of a revocation committed
 * just after that read can arrive before the socket is tracked. Seconds are plenty.
 */
const RECENT_REVOCATION_MS = 30_000;
const RECENT_REVOCATIONS_MAX = 10_000;

/** Why `SessionSockets` ended a socket (the `code` of `session.ended`). */
export type SessionSocketEndCode = typeof AuthErrorCode.SessionRevoked | typeof AuthErrorCode.TokenExpired;

/**
 * Sessions on socket.io sockets. `attach(server)` (in a gateway's `afterInit`) makes every
 * handshake authenticate, as `SessionGuard` does an HTTP request: the access token from the
 * handshake's `auth.token` (bearer), else the access cookie (then the `Origin` must be an
 * allowed one); never the query string. A refused handshake gets a `connect_error` whose
 * `data` is `{ code }`, the HTTP API's code. An admitted socket carries its principal (for
 * `SessionGuard`, `@CurrentUser()`, `@CurrentSession()` on `@SubscribeMessage` handlers) and
 * is tracked by session: when the session is revoked, here or on any instance (the store's
 * revocation feed, in every revocation mode), or when its access token expires, the client
 * gets `session.ended` `{ code }` and the socket is closed. A client keeps its socket past
 * the token's expiry by sending `session.reauthenticate` `{ token }` with a fresh access
 * token of the same session. No socket.io code is loaded: sockets are typed structurally.
 */
@Injectable()
export class SessionSockets implements OnApplicationShutdown {
  private readonly logger = new Logger('SessionSockets');
  private readonly bySession = new Map<string, Set<SessionSocket>>();
  private readonly tracked = new Map<SessionSocket, TrackedSocket>();
  private readonly recent = new BoundedMap<string, number>(RECENT_REVOCATIONS_MAX);
  private unsubscribe: (() => void) | undefined;
  private unwatchClock: (() => void) | undefined;
  private closed = false;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly authenticator: SessionAuthenticator,
    private readonly revocations: RevocationCache,
    private readonly events: SessionEvents,
  ) {}

  /**
   * Puts sessions on a socket.io server or namespace: its handshakes authenticate
   * (`middleware`), and its sockets are tracked from their connection to their disconnect.
   * Call it once per server, in the gateway's `afterInit(server)`.
   */
  attach(server: SessionSocketServer): void {
    this.start();
    server.use(this.middleware());
    server.on('connection', (socket) => this.track(socket));
  }

  /** The handshake middleware alone (`server.use(...)`), for a server whose connections are tracked by `track`. */
  middleware(): SessionSocketMiddleware {
    this.start();
    return (socket, next) => {
      this.admit(socket).then(
        () => next(),
        (error: unknown) => next(this.connectError(error)),
      );
    };
  }

  /** Number of tracked sockets (for tests and metrics). */
  get socketCount(): number {
    return this.tracked.size;
  }

  /** Number of sessions with a tracked socket (for tests and metrics). */
  get sessionCount(): number {
    return this.bySession.size;
  }

  /**
   * Authenticates a handshake and puts the principal on the socket; rejects with the
   * refusal (`SessionUnauthorizedException`, `CsrfFailedException`, `SessionUnavailableException`).
   */
  async admit(socket: SessionSocket): Promise<SessionPrincipal> {
    const credential = this.credentialOf(socket);
    if (credential.transport === 'cookie') this.checkOrigin(socket);
    const principal = await this.authenticator.authenticateToken(credential.token, credential.transport);
    if (this.recentlyRevoked(principal.session.id)) {
      throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked, credential.transport === 'bearer');
    }
    attachPrincipal(socket, principal);
    return principal;
  }

  /**
   * Tracks an admitted socket until it disconnects: closes it when its session is revoked
   * or its access token expires, and handles its `session.reauthenticate` messages. A
   * socket without a principal (not admitted by `admit`) is disconnected.
   */
  track(socket: SessionSocket): void {
    const session = sessionOf(socket);
    if (!session || this.closed) {
      socket.disconnect(true);
      return;
    }
    const state: TrackedSocket = { sessionId: session.id, expiresAtMs: session.accessTokenExpiresAt.getTime(), timer: undefined };
    this.tracked.set(socket, state);
    let sockets = this.bySession.get(session.id);
    if (!sockets) this.bySession.set(session.id, (sockets = new Set()));
    sockets.add(socket);
    socket.on('disconnect', () => this.untrack(socket));
    socket.on(SESSION_SOCKET_EVENTS.reauthenticate, (payload: unknown, ack?: unknown) => this.onReauthenticate(socket, payload, ack));
    if (this.recentlyRevoked(session.id)) {
      this.end(socket, AuthErrorCode.SessionRevoked);
      return;
    }
    this.schedule(socket, state);
  }

  /**
   * Replaces a tracked socket's principal with that of a fresh access token of the same
   * session, which moves its expiry to the new token's. Rejects with a refusal (and leaves
   * the socket as it was) when the token is not valid, or belongs to another session
   * (`token_invalid`).
   */
  async reauthenticate(socket: SessionSocket, token: unknown): Promise<SessionPrincipal> {
    if (typeof token !== 'string' || token === '') throw new SessionUnauthorizedException(AuthErrorCode.TokenMissing, true);
    const before = this.tracked.get(socket);
    if (!before) throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked, true);
    const principal = await this.authenticator.authenticateToken(token, 'bearer');
    // A token of another session (even of the same user) must not extend this one's socket.
    if (principal.session.id !== before.sessionId) throw new SessionUnauthorizedException(AuthErrorCode.TokenInvalid, true);
    const state = this.tracked.get(socket);
    if (!state) throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked, true);
    attachPrincipal(socket, principal);
    state.expiresAtMs = principal.session.accessTokenExpiresAt.getTime();
    this.schedule(socket, state);
    return principal;
  }

  /**
   * Ends every tracked socket of these sessions: `session.ended` `{ code }`, then the
   * connection closes. Called for every revocation; apps may call it too.
   */
  endSessions(sessionIds: readonly string[], code: SessionSocketEndCode = AuthErrorCode.SessionRevoked): void {
    for (const id of sessionIds) {
      const sockets = this.bySession.get(id);
      if (!sockets) continue;
      for (const socket of [...sockets]) this.end(socket, code);
    }
  }

  /** Forgets every socket and timer, and stops listening to revocations and the clock. */
  onApplicationShutdown(): void {
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.unwatchClock?.();
    this.unwatchClock = undefined;
    for (const state of this.tracked.values()) clearTimeout(state.timer);
    this.tracked.clear();
    this.bySession.clear();
    this.recent.clear();
  }

  /** Subscribes to revocations (which opens the feed in every mode) and clock jumps, once. */
  private start(): void {
    if (this.unsubscribe || this.closed) return;
    this.unsubscribe = this.revocations.onRevoked((ids) => this.onRevoked(ids));
    this.unwatchClock = this.options.clock.onAdvance?.(() => {
      for (const [socket, state] of [...this.tracked]) this.schedule(socket, state);
    });
  }

  private onRevoked(ids: readonly string[]): void {
    const now = this.options.clock.now().getTime();
    for (const id of ids) this.recent.set(id, now);
    this.endSessions(ids, AuthErrorCode.SessionRevoked);
  }

  private recentlyRevoked(sessionId: string): boolean {
    const at = this.recent.get(sessionId);
    return at !== undefined && this.options.clock.now().getTime() - at <= RECENT_REVOCATION_MS;
  }

  /**
   * The handshake's credential: `auth.token` (bearer), else the access cookie. Never the
   * query string: URLs end up in access logs, proxies and browser history (RFC 6750 §5.3;
   * OWASP WebSocket Security Cheat Sheet, "Authentication").
   */
  private credentialOf(socket: SessionSocket): HandshakeCredential {
    const auth = socket.handshake.auth;
    const token = typeof auth === 'object' && auth !== null ? (auth as { token?: unknown }).token : undefined;
    if (token !== undefined && token !== null) {
      // A token that is not a non-empty string is an invalid credential, not a missing one.
      return { token: typeof token === 'string' && token !== '' ? token : '-', transport: 'bearer' };
    }
    const header = socket.handshake.headers.cookie;
    let cookie: string | undefined;
    try {
      cookie = readCookie(typeof header === 'string' ? header : undefined, this.options.cookies.names.access);
    } catch (error) {
      // The cookie tossing a repeated name stands for (see `SessionCookies`).
      if (error instanceof DuplicateCookieError) throw new SessionUnauthorizedException(AuthErrorCode.CookieConflict);
      throw error;
    }
    if (!cookie) throw new SessionUnauthorizedException(AuthErrorCode.TokenMissing);
    return { token: cookie, transport: 'cookie' };
  }

  /**
   * Cross-site WebSocket hijacking: a page of another site can open a socket to us, and the
   * browser sends our cookies with it (WebSockets are not bound by the same-origin policy),
   * so a cookie-authenticated handshake must come from an allowed origin (OWASP WebSocket
   * Security Cheat Sheet, "Cross-Site WebSocket Hijacking"; RFC 6455 §10.2). Browsers always
   * send `Origin` on a WebSocket handshake and on a cross-origin polling request; a
   * same-origin polling GET has none, nor has a non-browser client (which holds the cookie
   * itself), so only a present, foreign `Origin` (or `Sec-Fetch-Site: cross-site`) is refused.
   */
  private checkOrigin(socket: SessionSocket): void {
    const headers = socket.handshake.headers;
    const origin = headers.origin;
    const crossSite = headers['sec-fetch-site'] === 'cross-site';
    if (!crossSite && (origin === undefined || this.isAllowedOrigin(socket, origin))) return;
    const reason = crossSite ? 'cross_site_fetch' : 'origin_not_allowed';
    this.logger.warn(`Refused a socket handshake (${reason})`);
    this.events.emit({
      type: 'csrf.refused',
      at: this.options.clock.now(),
      userId: null,
      sessionFingerprint: null,
      reason,
      ip: socket.handshake.address ?? null,
      userAgent: typeof headers['user-agent'] === 'string' ? headers['user-agent'] : null,
    });
    throw new CsrfFailedException();
  }

  private isAllowedOrigin(socket: SessionSocket, origin: string | string[]): boolean {
    if (typeof origin !== 'string' || origin === 'null') return false;
    const allowed = this.options.csrf.allowedOrigins;
    if (allowed.length > 0) return allowed.includes(origin);
    // No list configured: the handshake's own origin only (as CsrfGuard does).
    const host = socket.handshake.headers.host;
    return typeof host === 'string' && origin === `${socket.handshake.secure ? 'https' : 'http'}://${host}`;
  }

  /**
   * The `connect_error` of a refused handshake: the refusal's message, and `data: { code }`
   * (socket.io sends a middleware error's `message` and `data`, never its stack).
   */
  private connectError(error: unknown): Error {
    const refusal = this.refusalOf(error);
    // A refused handshake is a refused authentication, as a guard's 401 is.
    if (!(refusal instanceof CsrfFailedException)) this.authenticator.recordFailure(refusal);
    const body = refusal.getResponse() as { message?: unknown; code?: unknown };
    const code = typeof body.code === 'string' ? body.code : AuthErrorCode.TokenInvalid;
    const message = typeof body.message === 'string' ? body.message : AUTH_ERROR_MESSAGES.token_invalid;
    return Object.assign(new Error(message), { data: { code } });
  }

  private refusalOf(error: unknown): HttpException {
    return this.authenticator.refusal(error, error instanceof SessionUnauthorizedException ? error.bearer : false);
  }

  private onReauthenticate(socket: SessionSocket, payload: unknown, ack: unknown): void {
    const token = typeof payload === 'object' && payload !== null ? (payload as { token?: unknown }).token : undefined;
    this.reauthenticate(socket, token).then(
      (principal) => {
        if (typeof ack === 'function') ack({ ok: true, expiresAt: principal.session.accessTokenExpiresAt.toISOString() });
      },
      (error: unknown) => {
        const body = this.refusalOf(error).getResponse() as { code?: unknown; message?: unknown };
        const refusal = { status: 'error', code: body.code, message: body.message };
        // With an acknowledgement the client awaits the answer; without one it gets the
        // `exception` event Nest sends for a refused message (see SessionWsExceptionFilter).
        if (typeof ack === 'function') ack({ ok: false, ...refusal });
        else socket.emit('exception', { ...refusal, cause: { pattern: SESSION_SOCKET_EVENTS.reauthenticate } });
      },
    );
  }

  /** Sets the socket's expiry timer; ends it now if its token has expired. */
  private schedule(socket: SessionSocket, state: TrackedSocket): void {
    clearTimeout(state.timer);
    state.timer = undefined;
    const left = state.expiresAtMs - this.options.clock.now().getTime();
    if (left <= 0) {
      this.end(socket, AuthErrorCode.TokenExpired);
      return;
    }
    // On firing it looks at the clock again (early timers, a clock that jumped, long waits).
    state.timer = setTimeout(() => this.schedule(socket, state), Math.min(left, MAX_TIMER_MS));
    state.timer.unref();
  }

  private end(socket: SessionSocket, code: SessionSocketEndCode): void {
    if (!this.untrack(socket)) return;
    try {
      // Queued before the close: the client reads the reason, then sees the disconnect.
      socket.emit(SESSION_SOCKET_EVENTS.ended, { code } satisfies SessionEndedEvent);
      socket.disconnect(true);
    } catch (error) {
      this.logger.warn(`Could not close a socket (${error instanceof Error ? error.name : typeof error})`);
    }
  }

  /** Stops tracking a socket; false when it was not tracked. */
  private untrack(socket: SessionSocket): boolean {
    const state = this.tracked.get(socket);
    if (!state) return false;
    clearTimeout(state.timer);
    this.tracked.delete(socket);
    const sockets = this.bySession.get(state.sessionId);
    sockets?.delete(socket);
    if (sockets?.size === 0) this.bySession.delete(state.sessionId);
    return true;
  }
}
