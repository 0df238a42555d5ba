import { HttpException, Inject, Injectable, Logger } from '@nestjs/common';
import { AuthErrorCode } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import { SessionUnavailableException, storeOutageOf } from '../exceptions/session-unavailable.exception';
import type {
  AccessTokenClaims,
  AuthenticatedSession,
  SessionPrincipal,
  TokenTransport,
} from '../interfaces/authenticated.interface';
import type { SessionClaims, StoredClaims } from '../interfaces/session.interface';
import { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { HttpRequest } from '../interfaces/session-http-adapter.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { AccessTokenService } from './access-token.service';
import { RevocationCache } from './revocation-cache.service';
import { SessionCookies } from './session-cookies.service';
import { SessionService } from './session.service';
import { SessionTelemetry } from '../telemetry/session-telemetry';

/** An access token found on a request, and where it was found. */
export interface ExtractedAccessToken {
  token: string;
  transport: TokenTransport;
}

// RFC 7235 §2.1: the scheme name is case-insensitive.
const BEARER_SCHEME = /^bearer(\s|$)/i;
const BEARER = /^Bearer +([A-Za-z0-9\-_.~+/]+=*) *$/i;

/**
 * Authenticates a request: takes its access token from the `Authorization: Bearer`
 * header or else the access cookie (never the query string), verifies it
 * (`AccessTokenService`), and checks its session in the configured revocation mode.
 * `SessionGuard` and `SessionJwtStrategy` both call `authenticate`. Every refusal is a
 * `SessionUnauthorizedException` whose `bearer` flag says whether the credential came
 * from the header, so the caller can answer `WWW-Authenticate` without asking again; a
 * store outage in `strict` mode is a `SessionUnavailableException` (503) instead.
 */
@Injectable()
export class SessionAuthenticator {
  private readonly logger = new Logger(SessionAuthenticator.name);
  private readonly accessCookie: string;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly tokens: AccessTokenService,
    private readonly sessions: SessionService,
    private readonly revocations: RevocationCache,
    private readonly cookies: SessionCookies,
    @Inject(SessionHttpAdapter) private readonly http: SessionHttpAdapter,
    private readonly telemetry: SessionTelemetry,
  ) {
    this.accessCookie = options.cookies.names.access;
  }

  /**
   * The principal of a request: synchronous in `stateless` and `cached` modes (no I/O,
   * no promise on the hot path), a promise in `strict` mode (the session is read from
   * the store). Throws, or rejects, with `SessionUnauthorizedException`, or rejects with
   * `SessionUnavailableException` when the store cannot be reached.
   */
  authenticate(request: HttpRequest): SessionPrincipal | Promise<SessionPrincipal> {
    const header = this.bearerToken(request);
    const bearer = header !== undefined;
    const token = bearer ? header : this.cookies.read(request, this.accessCookie);
    if (!bearer && !token) throw new SessionUnauthorizedException(AuthErrorCode.TokenMissing);
    // A bearer header without a usable token is an invalid credential, not a missing one.
    return this.authenticateToken(token || '-', bearer ? 'bearer' : 'cookie');
  }

  /**
   * The principal of an access token that reached the server some other way than an HTTP
   * request's header or cookie (a socket's handshake, a message on an open socket), and
   * where it came from (`transport`); checked exactly as `authenticate` checks a request's.
   * Same answers and refusals (`bearer` set for a `'bearer'` transport).
   */
  authenticateToken(token: string, transport: TokenTransport): SessionPrincipal | Promise<SessionPrincipal> {
    const bearer = transport === 'bearer';
    let claims: AccessTokenClaims;
    try {
      claims = this.tokens.verify(token);
    } catch (error) {
      throw this.refusal(error, bearer);
    }
    const mode = this.options.revocationMode;
    if (mode === 'cached' && this.revocations.has(claims.sid)) {
      throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked, bearer);
    }
    if (mode !== 'strict') return principalOf(claims, this.tokens.customClaims(claims), bearer);
    // strict: the roles, claims and authentication time of the session record, which
    // `refreshUser` and `markAuthenticated` keep current.
    return this.sessions.assertLive(claims).then(
      (record) => principalOf(claims, record.claims, bearer, record.roles, record.authenticatedAt),
      (error: unknown) => {
        throw this.refusal(error, bearer);
      },
    );
  }

  /** `freshSessionMaxAge` in milliseconds: what `@RequireFreshSession()` without an argument allows. */
  get freshSessionMaxAgeMs(): number {
    return this.options.freshSessionMaxAgeMs;
  }

  /**
   * Whether the user of an authenticated session proved a credential within `maxAgeMs`, on
   * the injected clock (OIDC Core §2 `auth_time` / `max_age`). A session without an
   * authentication time (a token issued without `auth_time`) is never fresh.
   */
  authenticatedWithin(session: AuthenticatedSession, maxAgeMs: number): boolean {
    const at = session.authenticatedAt?.getTime();
    return at !== undefined && this.options.clock.now().getTime() - at <= maxAgeMs;
  }

  /**
   * The access token of a request and where it came from: the `Authorization: Bearer`
   * header wins over the cookie; a malformed bearer header yields an empty token
   * (refused as invalid). Throws 401 `cookie_conflict` for a repeated access cookie.
   */
  extract(request: HttpRequest): ExtractedAccessToken | undefined {
    const header = this.bearerToken(request);
    if (header !== undefined) return { token: header, transport: 'bearer' };
    const token = this.cookies.read(request, this.accessCookie);
    return token ? { token, transport: 'cookie' } : undefined;
  }

  /**
   * The 401 a failure answers with, `bearer` noting where the credential came from. A
   * store outage (`storeOutageOf`) is a 503 `store_unavailable` instead: the session may
   * well be valid, so the client must retry, not drop it. Anything else that is not an
   * HTTP error (a bug) fails closed as `token_invalid`, keeping the original as `cause`.
   * Both are logged by kind only.
   */
  refusal(error: unknown, bearer: boolean): HttpException {
    if (error instanceof SessionUnauthorizedException) {
      return error.bearer === bearer ? error : new SessionUnauthorizedException(error.code, bearer);
    }
    const outage = storeOutageOf(error);
    if (outage) {
      if (outage !== error) this.logger.warn(`Session store unavailable (${(error as Error).name}); answered 503`);
      return outage;
    }
    if (error instanceof HttpException) return error;
    this.logger.warn(`Authentication failed unexpectedly (${error instanceof Error ? error.name : typeof error})`);
    return new SessionUnauthorizedException(AuthErrorCode.TokenInvalid, bearer, error);
  }

  /**
   * Counts a refusal in the `tessera.auth.failures` metric, by its code (`store_unavailable`
   * for a 503). `SessionGuard` calls it for every request it refuses authentication.
   */
  recordFailure(failure: HttpException): void {
    if (!this.telemetry.metricsEnabled) return;
    const code =
      failure instanceof SessionUnauthorizedException
        ? failure.code
        : failure instanceof SessionUnavailableException
          ? 'store_unavailable'
          : 'other';
    this.telemetry.authFailure(code);
  }

  /** The token of an `Authorization: Bearer` header ('' when malformed); undefined without one. */
  private bearerToken(request: HttpRequest): string | undefined {
    const authorization = this.http.header(request, 'authorization');
    if (authorization === undefined || !BEARER_SCHEME.test(authorization)) return undefined;
    return BEARER.exec(authorization)?.[1] ?? '';
  }
}

function principalOf(
  claims: AccessTokenClaims,
  custom: Readonly<StoredClaims>,
  bearer: boolean,
  roles: readonly string[] = claims.roles,
  authenticatedAt: Date | null = typeof claims.auth_time === 'number' ? new Date(claims.auth_time * 1000) : null,
): SessionPrincipal {
  return {
    // Roles copied: the claims object is shared by every request with the same token (and
    // frozen); custom claims are deep-frozen instead, as copying them would cost every request.
    user: { id: claims.sub, roles: [...roles], claims: custom as Readonly<SessionClaims> },
    session: {
      id: claims.sid,
      userId: claims.sub,
      transport: bearer ? 'bearer' : 'cookie',
      accessTokenExpiresAt: new Date(claims.exp * 1000),
      tokenId: claims.jti,
      authenticatedAt,
    },
  };
}
