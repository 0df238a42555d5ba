import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import type { Jwt } from 'jsonwebtoken';
import { Strategy } from 'passport-jwt';
import { AuthErrorCode, SESSION_JWT_STRATEGY } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { AuthenticatedSession, AuthenticatedUser, TokenTransport } from '../interfaces/authenticated.interface';
import { AccessTokenService } from '../services/access-token.service';
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

/**
 * passport-jwt strategy: takes the access token from the bearer header or the access
 * cookie (never the query string), lets jsonwebtoken check signature, algorithm,
 * issuer and audience with the key named by `kid`, then checks the rest of the token
 * and that its session is live.
 */
@Injectable()
export class SessionJwtStrategy extends PassportStrategy(Strategy, SESSION_JWT_STRATEGY) {
  constructor(
    private readonly tokens: AccessTokenService,
    private readonly sessions: SessionService,
    transport: SessionTransportService,
  ) {
    super({
      jwtFromRequest: (request: RequestWithTransport) => {
        const extracted = transport.extractAccessToken(request);
        if (!extracted) return null;
        request[TOKEN_TRANSPORT_KEY] = extracted.transport;
        // A bearer header without a usable token is an invalid credential, not a missing one:
        // hand passport-jwt a placeholder that can never verify.
        return extracted.token || '-';
      },
      secretOrKeyProvider: (_request: Request, rawToken: string, done: (error: unknown, key?: Buffer) => void) => {
        const key = tokens.keyForToken(rawToken);
        // passport-jwt's types say string | Buffer; jsonwebtoken takes the KeyObject as is.
        if (key) done(null, key as unknown as Buffer);
        else done(new SessionUnauthorizedException(AuthErrorCode.TokenInvalid));
      },
      jsonWebTokenOptions: tokens.verifyOptions,
      // passport-jwt overwrites these four from its top-level options (undefined when
      // absent), so they must be repeated here or issuer/audience go unchecked.
      issuer: tokens.verifyOptions.issuer as string,
      audience: tokens.verifyOptions.audience as string,
      algorithms: tokens.verifyOptions.algorithms,
      ignoreExpiration: true,
      passReqToCallback: true,
    });
  }

  /** Called by passport-jwt with the verified token (`complete: true` gives the header too). */
  async validate(request: RequestWithTransport, decoded: Jwt): Promise<SessionPrincipal> {
    const claims = this.tokens.checkVerified(decoded);
    await this.sessions.assertLive(claims);
    return {
      user: { id: claims.sub, roles: claims.roles },
      session: {
        id: claims.sid,
        userId: claims.sub,
        transport: request[TOKEN_TRANSPORT_KEY] ?? 'cookie',
        accessTokenExpiresAt: new Date(claims.exp * 1000),
        tokenId: claims.jti,
      },
    };
  }
}
