import { Inject, Injectable } from '@nestjs/common';
import { AuthErrorCode } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { AccessTokenClaims } from '../interfaces/authenticated.interface';
import { SessionStore } from '../interfaces/session-store.interface';
import type { RevocationReason, SessionGrants, SessionRecord } from '../interfaces/session-store.interface';
import type { IssuedSession, IssuedUser, SessionContext, SessionUser } from '../interfaces/session.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { boundedContext } from '../utils/context.util';
import { deviceDescriber } from '../utils/device.util';
import { randomToken } from '../utils/crypto.util';
import { RefreshTokenChain } from '../utils/refresh-token-chain';
import type { RefreshToken } from '../utils/refresh-token-chain';
import { AccessTokenService } from './access-token.service';
import { RevocationCache } from './revocation-cache.service';
import { SessionEvents } from './session-events.service';
import type { SessionEventType } from './session-events.service';
import { SessionUsers } from './session-users.service';
import { SessionTelemetry } from '../telemetry/session-telemetry';

export type { IssuedSession, IssuedUser, SessionContext, SessionUser } from '../interfaces/session.interface';

export { sessionContextOf } from '../utils/session-request.util';

/** What `SessionService.refreshUser` did. */
export interface RefreshedUser {
  /** Live sessions that now carry the user's current roles and claims. */
  sessions: number;
  /** Sessions revoked because the user is gone or disabled (`user_disabled`). */
  revoked: number;
}

/**
 * What `SessionService.markAuthenticated` hands back: a new access token carrying the new
 * `auth_time`, for the same session (same id, same refresh token chain).
 */
export interface ReauthenticatedSession {
  accessToken: string;
  accessTokenExpiresAt: Date;
  /** The session, with its new `authenticatedAt`. */
  session: SessionRecord;
}

const REFRESH_USER_NEEDS_USER =
  'SessionService.refreshUser(userId) asks the "resolveUser" hook for the current user: configure it, or pass the user as the second argument.';

/**
 * Creates sessions at login, rotates their refresh tokens (with reuse detection and a
 * grace window for concurrent refreshes), checks that the session behind an access
 * token is live, re-issues and revokes sessions.
 */
@Injectable()
export class SessionService {
  private readonly chain: RefreshTokenChain;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SessionStore) private readonly store: SessionStore,
    private readonly tokens: AccessTokenService,
    private readonly events: SessionEvents,
    private readonly revocations: RevocationCache,
    private readonly users: SessionUsers,
    private readonly telemetry: SessionTelemetry,
  ) {
    this.chain = new RefreshTokenChain(options.sessionKey, options.refreshReuseGraceMs);
  }

  /**
   * Starts a new session for a user who just proved who they are. The id is always
   * new, whatever the request carried (no session fixation, OWASP ASVS V7.2.4). Beyond
   * `maxSessionsPerUser` live sessions, the oldest are revoked (`evicted`).
   */
  create(user: SessionUser, context: SessionContext = {}): Promise<IssuedSession> {
    return this.telemetry.trace('tessera.session.login', {}, () => this.login(user, context), this.describeIssued);
  }

  private async login(user: SessionUser, context: SessionContext): Promise<IssuedSession> {
    const now = this.options.clock.now();
    const absoluteExpiresAt = new Date(now.getTime() + this.options.absoluteTimeoutMs);
    const grants = this.users.grantsOf(user);
    const { record, refreshToken } = this.newSession(user.id, grants, now, absoluteExpiresAt, context);
    await this.store.create(record);
    const issued = this.issue(record, refreshToken, { id: user.id, roles: grants.roles, profile: user.profile });
    this.emit('session.created', issued.session, context);
    await this.evictBeyondLimit(user.id, issued.session.id, now, context);
    return issued;
  }

  /**
   * Exchanges a refresh token for a new access token and a new refresh token, with
   * one atomic compare-and-swap in the store; the presented token stops working.
   *
   * - The token that the last rotation replaced, presented again within
   *   `refreshReuseGrace`, gets the same successor (two tabs, a retried request).
   * - Any earlier token of the session presented later revokes the whole session
   *   (RFC 9700 §4.14.2): `refresh_token_reused`.
   * - Otherwise `invalid_refresh_token`, or `session_expired` for an idle or
   *   absolutely expired session.
   *
   * With a `resolveUser` hook, the user's current roles and claims go into the new access
   * token and the session record; a user that is gone or disabled ends the session
   * (`session_revoked`, reason `user_disabled`).
   */
  refresh(refreshToken: unknown, context: SessionContext = {}): Promise<IssuedSession> {
    return this.telemetry.refresh(() => this.rotate(refreshToken, context), this.describeIssued);
  }

  private async rotate(refreshToken: unknown, context: SessionContext): Promise<IssuedSession> {
    // A malformed or forged token costs one HMAC and never reaches the store.
    const presented = this.chain.verify(refreshToken);
    if (!presented) throw new SessionUnauthorizedException(AuthErrorCode.InvalidRefreshToken);
    const now = this.options.clock.now();
    const successor = this.chain.successorOf(presented).token;
    const rotated = await this.store.rotateRefresh(presented.sessionId, {
      expectedRefreshHash: this.chain.hash(presented.token),
      refreshHash: this.chain.hash(successor),
      now,
      expiresAt: new Date(now.getTime() + this.options.idleTimeoutMs),
    });
    if (rotated) {
      const current = await this.withCurrentUser(rotated, now, context);
      this.emit('session.refreshed', rotated, context);
      await this.emitContextChange(rotated, context);
      return this.issue(current.session, successor, current.user);
    }
    return this.afterFailedRotation(presented, successor, now, context);
  }

  /**
   * Gives a live session a new id and new tokens, revoking the old id (`reissued`),
   * for privilege changes (OWASP ASVS V7.2.4). The absolute expiry is kept. The store
   * revokes the old id and creates the new one in one atomic step, so a revocation that
   * lands first (reuse detection, a logout-all, a password change elsewhere) leaves no
   * successor behind: `session_revoked`, and nothing is created.
   */
  reissue(sessionId: string, context: SessionContext = {}): Promise<IssuedSession> {
    return this.telemetry.trace('tessera.session.reissue', {}, () => this.replace(sessionId, context), this.describeIssued);
  }

  private async replace(sessionId: string, context: SessionContext): Promise<IssuedSession> {
    const now = this.options.clock.now();
    const current = await this.store.findById(sessionId);
    if (!current || current.revokedAt) throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked);
    if (this.isExpired(current, now)) throw new SessionUnauthorizedException(AuthErrorCode.SessionExpired);
    const grants = { roles: current.roles, claims: current.claims };
    const { record, refreshToken } = this.newSession(current.userId, grants, now, current.absoluteExpiresAt, {
      userAgent: context.userAgent ?? current.userAgent,
      ip: context.ip ?? current.ip,
    });
    // Same user, no credential shown: the successor is exactly as fresh as the old session.
    record.authenticatedAt = current.authenticatedAt;
    // Checked live at `now` above, so a refusal here means a revocation won the race.
    if (!(await this.store.reissue(current.id, record, 'reissued', now))) {
      throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked);
    }
    this.revocations.add([current.id]);
    this.emit('session.reissued', current, context, { successorFingerprint: this.events.fingerprint(record.id) });
    return this.issue(record, refreshToken);
  }

  /**
   * Records that the user of a live session has just proved a credential again (the app
   * checked a password, a second factor, a passkey), for `@RequireFreshSession()` (step-up,
   * OIDC Core §2 `auth_time`, RFC 9470): the session's `authenticatedAt` becomes now, and a
   * new access token carrying it is returned. The session keeps its id and its refresh
   * token chain (no new login, no rotation). Throws `session_revoked` or `session_expired`.
   *
   * Other instances need no announcement, whatever the revocation mode: `strict` reads the
   * record on every request; in `cached` and `stateless` modes freshness comes from the token,
   * and access tokens issued before keep their older `auth_time`: staler, never fresher.
   */
  markAuthenticated(sessionId: string, context: SessionContext = {}): Promise<ReauthenticatedSession> {
    return this.telemetry.trace(
      'tessera.session.reauthenticate',
      {},
      () => this.reauthenticate(sessionId, context),
      ({ session }) => this.describeSession(session),
    );
  }

  private async reauthenticate(sessionId: string, context: SessionContext): Promise<ReauthenticatedSession> {
    const now = this.options.clock.now();
    const session = await this.store.markAuthenticated(sessionId, now);
    if (!session) {
      const current = await this.store.findById(sessionId);
      if (current && !current.revokedAt && this.isExpired(current, now)) {
        throw new SessionUnauthorizedException(AuthErrorCode.SessionExpired);
      }
      throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked);
    }
    const access = this.signAccess(session);
    this.emit('session.reauthenticated', session, context);
    return { accessToken: access.token, accessTokenExpiresAt: access.expiresAt, session };
  }

  /**
   * Checks that the session named by verified access-token claims is still live.
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
  revoke(sessionId: string, reason: RevocationReason = 'logout', context: SessionContext = {}): Promise<boolean> {
    if (!this.telemetry.tracingEnabled) return this.revokeOne(sessionId, reason, context);
    const attributes = { 'tessera.session.fingerprint': this.events.fingerprint(sessionId), 'tessera.revocation.reason': reason };
    return this.telemetry.trace('tessera.session.revoke', attributes, () => this.revokeOne(sessionId, reason, context), (revoked) => ({
      'tessera.revoked': revoked,
    }));
  }

  private async revokeOne(sessionId: string, reason: RevocationReason, context: SessionContext): Promise<boolean> {
    const now = this.options.clock.now();
    const revoked = await this.store.revoke(sessionId, reason, now);
    if (revoked) {
      this.revocations.add([sessionId]);
      const session = await this.store.findById(sessionId);
      if (session) this.emit('session.revoked', session, context, { reason });
    }
    return revoked;
  }

  /**
   * Revokes a session only if it belongs to `userId` and is not revoked yet; false
   * otherwise (so a user cannot learn whether someone else's session id exists).
   */
  async revokeOwned(
    userId: string,
    sessionId: string,
    reason: RevocationReason,
    context: SessionContext = {},
  ): Promise<boolean> {
    const session = await this.store.findById(sessionId);
    if (!session || session.userId !== userId || session.revokedAt) return false;
    return this.revoke(sessionId, reason, context);
  }

  /** Revokes every session of a user, or all but `exceptSessionId`; returns the revoked ids. */
  revokeAllForUser(
    userId: string,
    reason: RevocationReason,
    exceptSessionId?: string,
    context: SessionContext = {},
  ): Promise<string[]> {
    return this.telemetry.trace(
      'tessera.session.revoke_all',
      { 'user.id': userId, 'tessera.revocation.reason': reason },
      () => this.revokeUser(userId, reason, exceptSessionId, context),
      (revoked) => ({ 'tessera.revoked_count': revoked.length }),
    );
  }

  private async revokeUser(
    userId: string,
    reason: RevocationReason,
    exceptSessionId: string | undefined,
    context: SessionContext,
  ): Promise<string[]> {
    const now = this.options.clock.now();
    const revoked = await this.store.revokeByUser(userId, reason, now, exceptSessionId);
    this.revocations.add(revoked);
    for (const id of revoked) {
      this.events.emit({
        type: 'session.revoked',
        at: now,
        userId,
        sessionFingerprint: this.events.fingerprint(id),
        reason,
        ...boundedContext(context),
      });
    }
    return revoked;
  }

  /**
   * Makes a change to a user (roles, claims, disabled) effective on every instance at
   * once: their live sessions get the current roles and claims in the store, and every
   * instance drops what it remembered of the user. In `strict` mode the next request of
   * each session sees them; in `cached` and `stateless` modes, the next refresh (within
   * one access-token lifetime), since access tokens already issued keep their claims
   * until they expire. A user that is gone or disabled has every session revoked
   * (`user_disabled`), which every mode honours as any revocation.
   *
   * `user` is the user as it is now; omitted, the `resolveUser` hook is asked.
   */
  async refreshUser(userId: string, user?: SessionUser | null, context: SessionContext = {}): Promise<RefreshedUser> {
    if (user === undefined) {
      if (!this.users.enabled) throw new Error(REFRESH_USER_NEEDS_USER);
      user = (await this.users.resolve(userId, true)).user;
    }
    const now = this.options.clock.now();
    if (!user || user.disabled === true) {
      const revoked = await this.revokeAllForUser(userId, 'user_disabled', undefined, context);
      // Announces the change too, so that no instance keeps a remembered answer.
      await this.store.updateUserSessions(userId, { roles: [], claims: {} }, now);
      this.users.forget([userId]);
      return { sessions: 0, revoked: revoked.length };
    }
    const sessions = await this.store.updateUserSessions(userId, this.users.grantsOf(user), now);
    this.users.forget([userId]);
    this.events.emit({ type: 'user.refreshed', at: now, userId, sessionFingerprint: null, ...boundedContext(context) });
    return { sessions, revoked: 0 };
  }

  /** Live sessions of a user, oldest first. */
  listForUser(userId: string): Promise<SessionRecord[]> {
    return this.store.listByUser(userId, this.options.clock.now());
  }

  /**
   * The live session a refresh token currently belongs to (its current token, or the one
   * just replaced within the grace window), without rotating anything; else undefined.
   */
  async sessionOfRefreshToken(refreshToken: unknown): Promise<string | undefined> {
    const presented = this.chain.verify(refreshToken);
    if (!presented) return undefined;
    const session = await this.store.findById(presented.sessionId);
    const now = this.options.clock.now();
    if (!session || session.revokedAt || this.isExpired(session, now)) return undefined;
    return this.chain.holds(session, presented.token, now) ? session.id : undefined;
  }

  /** Keyed hash under which a refresh token is stored; the token itself is never stored. */
  hashRefreshToken(refreshToken: string): string {
    return this.chain.hash(refreshToken);
  }

  // Span attributes: the user and the session's fingerprint, never its id or a token.
  private readonly describeIssued = (issued: IssuedSession) => this.describeSession(issued.session);

  private describeSession(session: SessionRecord) {
    return { 'user.id': session.userId, 'tessera.session.fingerprint': this.events.fingerprint(session.id) };
  }

  /** A new session and its first refresh token, not stored yet. */
  private newSession(
    userId: string,
    grants: SessionGrants,
    now: Date,
    absoluteExpiresAt: Date,
    context: SessionContext,
  ): { record: SessionRecord; refreshToken: string } {
    const id = randomToken(16);
    const refreshToken = this.chain.mint(id, 0).token;
    const record: SessionRecord = {
      id,
      userId,
      roles: [...grants.roles],
      claims: grants.claims,
      refreshHash: this.chain.hash(refreshToken),
      previousRefreshHash: null,
      generation: 0,
      rotatedAt: null,
      createdAt: now,
      authenticatedAt: now,
      lastSeenAt: now,
      expiresAt: new Date(Math.min(now.getTime() + this.options.idleTimeoutMs, absoluteExpiresAt.getTime())),
      absoluteExpiresAt,
      revokedAt: null,
      revokedReason: null,
      ...boundedContext(context),
    };
    return { record, refreshToken };
  }

  private async evictBeyondLimit(userId: string, keepId: string, now: Date, context: SessionContext): Promise<void> {
    const limit = this.options.maxSessionsPerUser;
    if (limit === 0) return;
    const live = await this.store.listByUser(userId, now);
    const excess = live.length - limit;
    if (excess <= 0) return;
    for (const session of live.filter((candidate) => candidate.id !== keepId).slice(0, excess)) {
      if (await this.store.revoke(session.id, 'evicted', now)) {
        this.revocations.add([session.id]);
        this.emit('session.evicted', session, context, { reason: 'evicted' });
      }
    }
  }

  private async afterFailedRotation(
    presented: RefreshToken,
    successor: string,
    now: Date,
    context: SessionContext,
  ): Promise<IssuedSession> {
    const session = await this.store.findById(presented.sessionId);
    if (!session || session.revokedAt) throw new SessionUnauthorizedException(AuthErrorCode.InvalidRefreshToken);
    if (this.isExpired(session, now)) throw new SessionUnauthorizedException(AuthErrorCode.SessionExpired);
    const standing = this.chain.standing(session, presented, successor, now);
    // The same successor again, and no write, so the chain stays single.
    if (standing === 'just_replaced') {
      const current = await this.withCurrentUser(session, now, context);
      return this.issue(current.session, successor, current.user);
    }
    if (standing === 'earlier') {
      if (await this.store.revoke(session.id, 'refresh_token_reused', now)) {
        this.revocations.add([session.id]);
        this.emit('refresh_token.reused', session, context, { reason: 'refresh_token_reused' });
      }
      throw new SessionUnauthorizedException(AuthErrorCode.RefreshTokenReused);
    }
    throw new SessionUnauthorizedException(AuthErrorCode.InvalidRefreshToken);
  }

  /**
   * The session with its user's current roles and claims (`SessionUsers.current`).
   * Revokes the session (`user_disabled`) and throws `session_revoked` for a user that is
   * gone or disabled.
   */
  private async withCurrentUser(
    record: SessionRecord,
    now: Date,
    context: SessionContext,
  ): Promise<{ session: SessionRecord; user: IssuedUser }> {
    const current = await this.users.current(record, now);
    if (current) return current;
    await this.revoke(record.id, 'user_disabled', context);
    throw new SessionUnauthorizedException(AuthErrorCode.SessionRevoked);
  }

  private issue(
    session: SessionRecord,
    refreshToken: string,
    user: IssuedUser = { id: session.userId, roles: [...session.roles] },
  ): IssuedSession {
    const access = this.signAccess(session);
    return {
      user,
      accessToken: access.token,
      accessTokenExpiresAt: access.expiresAt,
      refreshToken,
      session,
    };
  }

  private signAccess(session: SessionRecord) {
    // Capped at the absolute expiry, so in cached and stateless modes (which do not read
    // the session per request) no access token outlives its session's absolute timeout.
    // `auth_time` is the record's: a refresh never moves it (only markAuthenticated does).
    return this.tokens.sign({
      userId: session.userId,
      sessionId: session.id,
      roles: session.roles,
      claims: session.claims,
      notAfter: session.absoluteExpiresAt,
      authenticatedAt: session.authenticatedAt,
    });
  }

  private isExpired(session: SessionRecord, now: Date): boolean {
    const at = now.getTime();
    return session.expiresAt.getTime() <= at || session.absoluteExpiresAt.getTime() <= at;
  }

  /**
   * `session.context_changed` when a refresh comes from another IP address or user agent
   * than the session recorded (OWASP ASVS V7 asks that users can see where their sessions
   * are used; what to do about it is the app's call). A field the caller did not pass is
   * not compared. The event carries both devices in words and whether the IP changed.
   */
  private async emitContextChange(session: SessionRecord, context: SessionContext): Promise<void> {
    const now = boundedContext(context);
    const ipChanged = context.ip !== undefined && now.ip !== session.ip;
    const userAgentChanged = context.userAgent !== undefined && now.userAgent !== session.userAgent;
    if (!ipChanged && !userAgentChanged) return;
    const describe = await deviceDescriber();
    this.emit('session.context_changed', session, context, {
      previousDevice: describe(session.userAgent).label,
      device: describe(now.userAgent, context.clientHints).label,
      ipChanged,
      userAgentChanged,
    });
  }

  private emit(
    type: SessionEventType,
    session: SessionRecord,
    context: SessionContext,
    extra: Partial<Parameters<SessionEvents['emit']>[0]> = {},
  ) {
    this.events.emit({
      type,
      at: this.options.clock.now(),
      userId: session.userId,
      sessionFingerprint: this.events.fingerprint(session.id),
      ...boundedContext(context),
      ...extra,
    });
  }
}
