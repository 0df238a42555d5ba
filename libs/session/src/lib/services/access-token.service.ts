import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { KeyObject } from 'node:crypto';
import type { Jwt, JwtPayload, VerifyOptions } from 'jsonwebtoken';
import { ACCESS_TOKEN_TYPE, AuthErrorCode } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { AccessTokenClaims } from '../interfaces/authenticated.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { randomToken } from '../utils/crypto.util';

/** What the session service asks to be put in an access token. */
export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
  roles: string[];
}

/** A signed access token and when it expires. */
export interface SignedAccessToken {
  token: string;
  expiresAt: Date;
}

// Header parameters that point the verifier at keys chosen by the token itself.
// We never honour them (RFC 8725 §3.10), so a token that carries one is refused.
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'] as const;

/**
 * Signs and verifies access tokens: JWTs with `typ: at+jwt` (RFC 9068) and a `kid`,
 * signed by one pinned algorithm with a key held as a `KeyObject`.
 */
@Injectable()
export class AccessTokenService {
  /** Options handed to jsonwebtoken on every verify (also used by the passport strategy). */
  readonly verifyOptions: VerifyOptions & { complete: true };

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    private readonly jwt: JwtService,
  ) {
    this.verifyOptions = {
      algorithms: [options.algorithm],
      issuer: options.issuer,
      audience: options.audience,
      complete: true,
      // exp / nbf are checked in checkVerified against the injected clock, with the configured leeway.
      ignoreExpiration: true,
      ignoreNotBefore: true,
    };
  }

  /** Signs an access token for a session. */
  sign(subject: AccessTokenSubject): SignedAccessToken {
    const nowMs = this.options.clock.now().getTime();
    const iat = Math.floor(nowMs / 1000);
    const exp = Math.floor((nowMs + this.options.accessTokenTtlMs) / 1000);
    const claims: AccessTokenClaims = {
      iss: this.options.issuer,
      aud: this.options.audience,
      sub: subject.userId,
      sid: subject.sessionId,
      jti: randomToken(16),
      iat,
      exp,
      roles: [...subject.roles],
    };
    const token = this.jwt.sign(claims, {
      privateKey: this.options.jwtKey,
      algorithm: this.options.algorithm,
      header: { alg: this.options.algorithm, typ: ACCESS_TOKEN_TYPE, kid: this.options.jwtKeyId },
    });
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Verifies a token completely; throws `SessionUnauthorizedException` (`token_invalid` / `token_expired`). */
  verify(token: string): AccessTokenClaims {
    const key = this.keyForToken(token);
    if (!key) throw new SessionUnauthorizedException(AuthErrorCode.TokenInvalid);
    let decoded: Jwt;
    try {
      // The JwtVerifyOptions type only admits string | Buffer; jsonwebtoken accepts a KeyObject.
      decoded = this.jwt.verify<Jwt & object>(token, {
        ...this.verifyOptions,
        publicKey: key as unknown as Buffer,
      });
    } catch {
      throw new SessionUnauthorizedException(AuthErrorCode.TokenInvalid);
    }
    return this.checkVerified(decoded);
  }

  /**
   * Returns the key that verifies this token, chosen by its `kid`, or undefined when
   * the header is malformed, names another algorithm or an unknown key.
   */
  keyForToken(token: string): KeyObject | undefined {
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    let header: unknown;
    try {
      header = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof header !== 'object' || header === null) return undefined;
    const { kid, alg } = header as Record<string, unknown>;
    if (alg !== this.options.algorithm || kid !== this.options.jwtKeyId) return undefined;
    return this.options.jwtKey;
  }

  /**
   * Checks what jsonwebtoken leaves to us once the signature, `alg`, `iss` and `aud`
   * are verified: the explicit type, the key id, forbidden headers, the claims'
   * shapes, and `exp` / `iat` / `nbf` against the injected clock.
   */
  checkVerified(decoded: Jwt): AccessTokenClaims {
    const { header } = decoded;
    const payload = decoded.payload as JwtPayload;
    const invalid = () => new SessionUnauthorizedException(AuthErrorCode.TokenInvalid);
    if (header.typ !== ACCESS_TOKEN_TYPE || header.kid !== this.options.jwtKeyId) throw invalid();
    if (FORBIDDEN_HEADERS.some((name) => name in header)) throw invalid();
    if (typeof payload !== 'object' || payload === null) throw invalid();
    const { sub, sid, jti, iat, exp, nbf, roles } = payload as Record<string, unknown>;
    if (typeof sub !== 'string' || sub === '' || typeof sid !== 'string' || sid === '' || typeof jti !== 'string') {
      throw invalid();
    }
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= iat) throw invalid();
    if (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string')) throw invalid();

    const nowMs = this.options.clock.now().getTime();
    const skew = this.options.clockSkewMs;
    if (iat * 1000 > nowMs + skew) throw invalid();
    if (typeof nbf === 'number' && nbf * 1000 > nowMs + skew) throw invalid();
    if (exp * 1000 <= nowMs - skew) throw new SessionUnauthorizedException(AuthErrorCode.TokenExpired);
    return payload as unknown as AccessTokenClaims;
  }
}
