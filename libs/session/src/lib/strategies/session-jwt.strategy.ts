import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { AuthErrorCode, SESSION_JWT_STRATEGY } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { SessionPrincipal } from '../interfaces/authenticated.interface';
import type { HttpRequest } from '../interfaces/session-http-adapter.interface';
import { SessionAuthenticator } from '../services/session-authenticator.service';

type PassportActions = {
  success(user: unknown): void;
  fail(challenge?: unknown): void;
  error(error: unknown): void;
};

/**
 * The passport strategy `tessera-jwt`, for apps that guard routes with
 * `AuthGuard('tessera-jwt')` rather than `SessionGuard`: a thin adapter over
 * `SessionAuthenticator`, so both authenticate a request the same way. The principal
 * (`{ user, session }`) becomes `request.user`.
 *
 * `authenticate` replaces passport-jwt's own, whose verification is hard-wired to
 * jsonwebtoken: that has no EdDSA, overwrites issuer/audience unless they are repeated
 * at the top level, checks `exp` on the wall clock, and would parse each token twice.
 */
@Injectable()
export class SessionJwtStrategy extends PassportStrategy(Strategy, SESSION_JWT_STRATEGY) {
  constructor(private readonly authenticator: SessionAuthenticator) {
    super({
      // Both required by passport-jwt's constructor; never consulted, see `authenticate`.
      jwtFromRequest: (request: HttpRequest) => authenticator.extract(request)?.token ?? null,
      secretOrKeyProvider: (_request: unknown, _token: string, done: (error: unknown) => void) =>
        done(new SessionUnauthorizedException(AuthErrorCode.TokenInvalid)),
      passReqToCallback: true,
    });
  }

  /** Required by `PassportStrategy`; never called, since `authenticate` is replaced. */
  validate(): never {
    throw new SessionUnauthorizedException(AuthErrorCode.TokenInvalid);
  }

  /**
   * Passport entry point: success with the principal; fail for a refused credential;
   * error when the `strict` session check fails: a store outage as the 503
   * `SessionUnavailableException` (an app's exception filter may add `Retry-After` from its
   * `retryAfterSeconds`: passport gives a strategy no response to set it on), anything
   * unexpected as itself, not as the 401 `SessionGuard` turns it into.
   */
  override authenticate(request: HttpRequest): void {
    const actions = this as unknown as PassportActions;
    let outcome: SessionPrincipal | Promise<SessionPrincipal>;
    try {
      outcome = this.authenticator.authenticate(request);
    } catch (error) {
      return actions.fail(error);
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (principal) => actions.success(principal),
        (error: unknown) => actions.error(error instanceof SessionUnauthorizedException && error.cause !== undefined ? error.cause : error),
      );
    } else {
      actions.success(outcome);
    }
  }
}
