import type { SessionRecord } from '../interfaces/session-store.interface';

/** One session as `GET <prefix>/sessions` (and an app's admin listing) shows it. */
export class SessionView {
  /** Public handle of the session (not a credential). */
  id: string;
  /** Login time (ISO 8601). */
  createdAt: string;
  /** Last recorded activity (ISO 8601). */
  lastSeenAt: string;
  /** When the session ends unless it is used again (ISO 8601). */
  expiresAt: string;
  /** User agent seen at login. */
  userAgent: string | null;
  /** Client IP seen at login. */
  ip: string | null;
  /** Whether this is the session making the request. */
  current: boolean;
}

/**
 * The response item for a stored session. Fields are copied one by one, so hashes,
 * roles, claims and whatever a store adds later never reach a response.
 */
export function toSessionView(record: SessionRecord, currentSessionId: string | undefined): SessionView {
  return {
    id: record.id,
    createdAt: record.createdAt.toISOString(),
    lastSeenAt: record.lastSeenAt.toISOString(),
    expiresAt: record.expiresAt.toISOString(),
    userAgent: record.userAgent,
    ip: record.ip,
    current: record.id === currentSessionId,
  };
}
