import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-jwt';
import { AuthErrorCode, SESSION_JWT_STRATEGY } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type {
  AccessTokenClaims,
  AuthenticatedSession,
  AuthenticatedUser,
  TokenTransport,
} from '../interfaces/authenticated.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { AccessTokenService } from '../services/access-token.service';
import { RevocationCache } from '../services/revocation-cache.service';
import { SessionService } from '../services/session.service';
import { SessionTransportService } from '../services/session-transport.service';

/** What the strategy resolves a request to. */
export interface SessionPrincipal {
  user: AuthenticatedUser;
  session: AuthenticatedSession;
}

/** Request property where the extractor notes where the token came from. */
export const TOKEN_TRANSPORT_KEY = 'tesseraTokenTransport';

type RequestWithTransport = Request & { [TOKEN_TRANSPORT_KEY]?: TokenTransport };

type PassportActions = {
  success(user: unknown): void;
  fail(challenge?: unknown): void;
  error(error: unknown): void;
};

/**
 * The passport-jwt strategy, registered through `@nestjs/passport` as `tessera-jwt`.
 * It takes the access token from the bearer header or the access cookie (never the
 * query string) with passport-jwt's extractor contract, verifies it with
 * `AccessTokenService` (key chosen by `kid`, algorithm pinned per key, claims and
 * expiry on the injected clock), and checks that its session is live.
 *
 * `authenticate` replaces passport-jwt's verification step, which is hard-wired to
 * jsonwebtoken: that has no EdDSA, overwrites issuer/audience unless they are repeated
 * at the top level, checks `exp` on the wall clock, and would parse each token twice.
 */
@Injectable()
export class SessionJwtStrategy extends PassportStrategy(Strategy, SESSION_JWT_STRATEGY) {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly sessions: SessionService,
    private readonly transport: SessionTransportService,
    private readonly revocations: RevocationCache,
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
  ) {
    super({
      jwtFromRequest: (request: Request) => transport.extractAccessToken(request)?.token ?? null,
      // Required by passport-jwt's constructor; never consulted, see `authenticate`.
      secretOrKeyProvider: (_request: Request, _token: string, done: (error: unknown) => void) =>
        done(new SessionUnauthorizedException(AuthErrorCode.TokenInvalid)),
      passReqToCallback: true,
    });
  }

  /**
   * Passport entry point (`AuthGuard('tessera-jwt')`): `resolve`, then success, or fail
   * for a refused token, or error when the strict-mode session check fails.
   */
  override authenticate(request: RequestWithTransport): void {
    const actions = this as unknown as PassportActions;
    let outcome: SessionPrincipal | Promise<SessionPrincipal>;
    try {
      outcome = this.resolve(request);
    } catch (error) {
      return actions.fail(error);
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (principal) => actions.success(principal),
        (error: unknown) => actions.error(error),
      );
    } else {
      actions.success(outcome);
    }
  }

  /**
   * Extracts, verifies and checks the request's access token. Returns the principal,
   * synchronously in `stateless` and `cached` modes (no I/O, no promise on the hot
   * path) or as a promise in `strict` mode; throws or rejects with
   * `SessionUnauthorizedException`. `SessionGuard` calls it directly. When it fails,
   * where the token came from is noted on the request (bearer failures get
   * `WWW-Authenticate`).
   */
  resolve(request: RequestWithTransport): SessionPrincipal | Promise<SessionPrincipal> {
    const extracted = this.transport.extractAccessToken(request);
    if (!extracted) throw new SessionUnauthorizedException(AuthErrorCode.TokenMissing);
    const { transport } = extracted;
    let claims: AccessTokenClaims;
    try {
      // A bearer header without a usable token is an invalid credential, not a missing one.
      claims = this.tokens.verify(extracted.token || '-');
      if (this.options.revocationMode === 'cached' && this.revocations.has(claims.sid)) {
        throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked);
      }
    } catch (error) {
      request[TOKEN_TRANSPORT_KEY] = transport;
      throw error;
    }
    if (this.options.revocationMode !== 'strict') return this.principal(claims, transport);
    return this.validate(claims, transport).catch((error: unknown) => {
      request[TOKEN_TRANSPORT_KEY] = transport;
      throw error;
    });
  }

  /** `strict` mode: reads the session from the store and checks it is live. */
  async validate(claims: AccessTokenClaims, transport: TokenTransport): Promise<SessionPrincipal> {
    await this.sessions.assertLive(claims);
    return this.principal(claims, transport);
  }

  private principal(claims: AccessTokenClaims, transport: TokenTransport): SessionPrincipal {
    return {
      // A copy: the claims object is shared by every request with the same token (and frozen).
      user: { id: claims.sub, roles: [...claims.roles] },
      session: {
        id: claims.sid,
        userId: claims.sub,
        transport,
        accessTokenExpiresAt: new Date(claims.exp * 1000),
        tokenId: claims.jti,
      },
    };
  }
}
