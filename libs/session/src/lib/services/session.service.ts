import { Inject, Injectable } from '@nestjs/common';
import { AuthErrorCode } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { AccessTokenClaims } from '../interfaces/authenticated.interface';
import { SessionStore } from '../interfaces/session-store.interface';
import type { RevocationReason, SessionRecord } from '../interfaces/session-store.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { hmac, randomToken } from '../utils/crypto.util';
import { AccessTokenService } from './access-token.service';

/** Who is logging in. */
export interface SessionUser {
  /** User id; becomes the `sub` claim. */
  id: string;
  /** Roles to put in access tokens. Default: none. */
  roles?: string[];
}

/** Request details recorded with a session. */
export interface SessionContext {
  userAgent?: string | null;
  ip?: string | null;
}

/** What a login or a refresh hands back to the client. */
export interface IssuedSession {
  accessToken: string;
  accessTokenExpiresAt: Date;
  /** Opaque refresh token; shown to the client once, stored only as a hash. */
  refreshToken: string;
  session: SessionRecord;
}

// `<session id>.<secret>`: 16 random bytes of id, 32 of secret (256 bits, RFC 9700 §4.14 asks
// for unguessable tokens), both base64url. The id lets the store address the session directly.
const REFRESH_TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/;
const MAX_USER_AGENT = 512;
const MAX_IP = 64;

/**
 * Creates sessions at login, rotates their refresh tokens, checks that a session
 * behind an access token is still live, and revokes sessions.
 */
@Injectable()
export class SessionService {
  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SessionStore) private readonly store: SessionStore,
    private readonly tokens: AccessTokenService,
  ) {}

  /**
   * Starts a new session for a user who just proved who they are. The id is always
   * new, whatever the request carried (no session fixation, OWASP ASVS V7.2.4).
   */
  async create(user: SessionUser, context: SessionContext = {}): Promise<IssuedSession> {
    const now = this.options.clock.now();
    const id = randomToken(16);
    const refreshToken = this.newRefreshToken(id);
    const record: SessionRecord = {
      id,
      userId: user.id,
      roles: [...(user.roles ?? [])],
      refreshHash: this.hashRefreshToken(refreshToken),
      previousRefreshHash: null,
      generation: 0,
      rotatedAt: null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.options.idleTimeoutMs),
      absoluteExpiresAt: new Date(now.getTime() + this.options.absoluteTimeoutMs),
      revokedAt: null,
      revokedReason: null,
      userAgent: context.userAgent ? context.userAgent.slice(0, MAX_USER_AGENT) : null,
      ip: context.ip ? context.ip.slice(0, MAX_IP) : null,
    };
    await this.store.create(record);
    return this.issue(record, refreshToken);
  }

  /**
   * Exchanges a refresh token for a new access token and a new refresh token, with
   * one atomic compare-and-swap in the store. The presented token stops working.
   * Throws `SessionUnauthorizedException` with `invalid_refresh_token` or `session_expired`.
   */
  async refresh(refreshToken: unknown): Promise<IssuedSession> {
    const sessionId = this.sessionIdOf(refreshToken);
    if (!sessionId) throw new SessionUnauthorizedException(AuthErrorCode.InvalidRefreshToken);
    const now = this.options.clock.now();
    const next = this.newRefreshToken(sessionId);
    const rotated = await this.store.rotateRefresh(sessionId, {
      expectedRefreshHash: this.hashRefreshToken(refreshToken as string),
      refreshHash: this.hashRefreshToken(next),
      now,
      expiresAt: new Date(now.getTime() + this.options.idleTimeoutMs),
    });
    if (rotated) return this.issue(rotated, next);
    throw await this.refreshFailure(sessionId, now);
  }

  /**
   * Checks that the session named by a verified access token is still live.
   * Throws `session_revoked`, `session_expired` or `token_invalid`.
   */
  async assertLive(claims: AccessTokenClaims): Promise<SessionRecord> {
    const session = await this.store.findById(claims.sid);
    if (!session || session.revokedAt) throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked);
    if (session.userId !== claims.sub) throw new SessionUnauthorizedException(AuthErrorCode.TokenInvalid);
    if (this.isExpired(session, this.options.clock.now())) {
      throw new SessionUnauthorizedException(AuthErrorCode.SessionExpired);
    }
    return session;
  }

  /** Revokes one session; returns false when it was already revoked or never existed. */
  revoke(sessionId: string, reason: RevocationReason = 'logout'): Promise<boolean> {
    return this.store.revoke(sessionId, reason, this.options.clock.now());
  }

  /** Revokes every session of a user, or all but `exceptSessionId`; returns the revoked ids. */
  revokeAllForUser(userId: string, reason: RevocationReason, exceptSessionId?: string): Promise<string[]> {
    return this.store.revokeByUser(userId, reason, this.options.clock.now(), exceptSessionId);
  }

  /** Live sessions of a user, oldest first. */
  listForUser(userId: string): Promise<SessionRecord[]> {
    return this.store.listByUser(userId, this.options.clock.now());
  }

  /** Keyed hash under which a refresh token is stored; the token itself is never stored. */
  hashRefreshToken(refreshToken: string): string {
    return hmac(this.options.sessionKey, refreshToken);
  }

  private issue(session: SessionRecord, refreshToken: string): IssuedSession {
    const access = this.tokens.sign({ userId: session.userId, sessionId: session.id, roles: session.roles });
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, refreshToken, session };
  }

  private newRefreshToken(sessionId: string): string {
    return `${sessionId}.${randomToken(32)}`;
  }

  private sessionIdOf(refreshToken: unknown): string | undefined {
    if (typeof refreshToken !== 'string') return undefined;
    return REFRESH_TOKEN_PATTERN.exec(refreshToken)?.[1];
  }

  private isExpired(session: SessionRecord, now: Date): boolean {
    const at = now.getTime();
    return session.expiresAt.getTime() <= at || session.absoluteExpiresAt.getTime() <= at;
  }

  /** Runs only when the swap failed, to tell the client why. */
  private async refreshFailure(sessionId: string, now: Date): Promise<SessionUnauthorizedException> {
    const session = await this.store.findById(sessionId);
    if (session && !session.revokedAt && this.isExpired(session, now)) {
      return new SessionUnauthorizedException(AuthErrorCode.SessionExpired);
    }
    // Unknown session, revoked session, or a token that is not the current one.
    // Telling a rotated token from a forged one is the job of reuse detection.
    return new SessionUnauthorizedException(AuthErrorCode.InvalidRefreshToken);
  }
}
