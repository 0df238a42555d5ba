import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RevocationReason } from '../interfaces/session-store.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { boundedContext, exceedsContextBounds } from '../utils/context.util';
import { hmac } from '../utils/crypto.util';

/** What happened to a session. */
export type SessionEventType =
  | 'session.created'
  | 'session.refreshed'
  /** A refresh came from another IP address or user agent than the session recorded. */
  | 'session.context_changed'
  | 'session.revoked'
  | 'session.evicted'
  | 'session.reissued'
  /** `SessionService.markAuthenticated`: the user proved a credential again (step-up). */
  | 'session.reauthenticated'
  | 'refresh_token.reused'
  /** `SessionService.refreshUser` gave a user's live sessions new roles or claims. */
  | 'user.refreshed'
  | 'csrf.refused'
  /** A request carried a session cookie twice, or cookies of two sessions (`reason`). */
  | 'cookie.conflict'
  /** Emitted by the app (the library never sees credentials). */
  | 'login.failed';

/**
 * One audit event. It names the session by a fingerprint (a short keyed hash) and
 * never carries a token, a secret or the raw session id.
 */
export interface SessionEvent {
  type: SessionEventType;
  at: Date;
  /** The user, when known (a refused anonymous request has none). */
  userId: string | null;
  /** Keyed hash of the session id: stable for one session, useless to an attacker; null when there is no session. */
  sessionFingerprint: string | null;
  /** For revocations and evictions: the revocation reason; for `csrf.refused`: which check failed. */
  reason?: RevocationReason | string;
  /** For `session.reissued`: the fingerprint of the new session. */
  successorFingerprint?: string;
  ip?: string | null;
  userAgent?: string | null;
  /** For `session.context_changed`: the recorded device in words ("Chrome 156 on Linux (desktop)"). */
  previousDevice?: string;
  /** For `session.context_changed`: the refreshing device in words (client hints included). */
  device?: string;
  /** For `session.context_changed`: whether the IP address differs from the recorded one. */
  ipChanged?: boolean;
  /** For `session.context_changed`: whether the user agent differs from the recorded one. */
  userAgentChanged?: boolean;
}

/** Receives session events; errors it throws are logged and otherwise ignored. */
export type SessionEventListener = (event: SessionEvent) => void | Promise<void>;

/**
 * The audit hook: `subscribe` to receive every session event (send them to a log,
 * a table, a SIEM). Listeners run after the action, never block or fail it.
 */
@Injectable()
export class SessionEvents {
  private readonly listeners = new Set<SessionEventListener>();
  private readonly logger = new Logger('SessionEvents');

  constructor(@Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions) {}

  /** Adds a listener; returns a function that removes it. */
  subscribe(listener: SessionEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Keyed, truncated hash of a session id, for logs and events. */
  fingerprint(sessionId: string): string {
    return hmac(this.options.sessionKey, `tessera.fingerprint.${sessionId}`).slice(0, 16);
  }

  /**
   * Delivers an event to every listener, with its IP and user agent cut to the same
   * bounds as a stored session's, whoever emitted it (the library or the app), and
   * without client hints (spread in with `sessionContextOf(request)`).
   */
  emit(event: SessionEvent): void {
    if (exceedsContextBounds(event)) event = { ...event, ...boundedContext(event) };
    // `{ ...sessionContextOf(request) }` also spreads the request's client hints: events carry
    // the device in words (`device`), never raw headers a client chose.
    if ('clientHints' in event) {
      const { clientHints: _hints, ...rest } = event as SessionEvent & { clientHints?: unknown };
      event = rest;
    }
    for (const listener of this.listeners) {
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch((error: unknown) => this.report(error));
      } catch (error) {
        this.report(error);
      }
    }
  }

  private report(error: unknown): void {
    this.logger.warn(`A session event listener failed (${error instanceof Error ? error.name : typeof error})`);
  }
}
