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

  /** Passport entry point: extract, verify, validate, then success / fail / error. */
  override authenticate(request: RequestWithTransport): void {
    const actions = this as unknown as PassportActions;
    const token = this.extract(request);
    if (token === null) return actions.fail(new SessionUnauthorizedException(AuthErrorCode.TokenMissing));
    let claims: AccessTokenClaims;
    try {
      claims = this.tokens.verify(token);
    } catch (error) {
      return actions.fail(error);
    }
    if (this.options.revocationMode !== 'strict') {
      // stateless / cached: no I/O, so no promise on the hot path.
      if (this.options.revocationMode === 'cached' && this.revocations.has(claims.sid)) {
        return actions.fail(new SessionUnauthorizedException(AuthErrorCode.SessionRevoked));
      }
      return actions.success(this.principal(request, claims));
    }
    this.validate(request, claims).then(
      (principal) => actions.success(principal),
      (error: unknown) => actions.error(error),
    );
  }

  /** `strict` mode: reads the session from the store and checks it is live. */
  async validate(request: RequestWithTransport, claims: AccessTokenClaims): Promise<SessionPrincipal> {
    await this.sessions.assertLive(claims);
    return this.principal(request, claims);
  }

  private principal(request: RequestWithTransport, claims: AccessTokenClaims): SessionPrincipal {
    return {
      // A copy: the claims object is shared by every request with the same token (and frozen).
      user: { id: claims.sub, roles: [...claims.roles] },
      session: {
        id: claims.sid,
        userId: claims.sub,
        transport: request[TOKEN_TRANSPORT_KEY] ?? 'cookie',
        accessTokenExpiresAt: new Date(claims.exp * 1000),
        tokenId: claims.jti,
      },
    };
  }

  private extract(request: RequestWithTransport): string | null {
    const extracted = this.transport.extractAccessToken(request);
    if (!extracted) return null;
    request[TOKEN_TRANSPORT_KEY] = extracted.transport;
    // A bearer header without a usable token is an invalid credential, not a missing one.
    return extracted.token || '-';
  }
}
