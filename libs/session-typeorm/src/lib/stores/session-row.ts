import type { RevocationReason, SessionRecord } from '@tessera/session';

/** A row of the sessions table as pg returns it. */
export interface SessionRow {
  id: string;
  user_id: string;
  roles: string[];
  /** pg parses jsonb into the object (key order is jsonb's, not the one written). */
  claims: SessionRecord['claims'];
  refresh_hash: string;
  previous_refresh_hash: string | null;
  generation: number;
  rotated_at: Date | null;
  created_at: Date;
  authenticated_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
  user_agent: string | null;
  ip: string | null;
}

/** The sessions table's columns, in the order of `columnValues`. */
export const COLUMN_NAMES = [
  'id',
  'user_id',
  'roles',
  'claims',
  'refresh_hash',
  'previous_refresh_hash',
  'generation',
  'rotated_at',
  'created_at',
  'authenticated_at',
  'last_seen_at',
  'expires_at',
  'absolute_expires_at',
  'revoked_at',
  'revoked_reason',
  'user_agent',
  'ip',
] as const;

/** `COLUMN_NAMES` as a select or insert list. */
export const COLUMNS = COLUMN_NAMES.join(', ');

/** The record a row holds. */
export function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    roles: row.roles,
    claims: row.claims,
    refreshHash: row.refresh_hash,
    previousRefreshHash: row.previous_refresh_hash,
    generation: row.generation,
    rotatedAt: row.rotated_at,
    createdAt: row.created_at,
    authenticatedAt: row.authenticated_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason as RevocationReason | null,
    userAgent: row.user_agent,
    ip: row.ip,
  };
}

/** The records these rows hold, by session id. */
export function recordsById(rows: SessionRow[]): Map<string, SessionRecord> {
  const records = new Map<string, SessionRecord>();
  for (const row of rows) records.set(row.id, toRecord(row));
  return records;
}

/** A record's values in `COLUMN_NAMES` order. */
export function columnValues(session: SessionRecord): unknown[] {
  return [
    session.id,
    session.userId,
    session.roles,
    // JSON text, not left to pg, which would send a JS array as a PostgreSQL array literal.
    JSON.stringify(session.claims),
    session.refreshHash,
    session.previousRefreshHash,
    session.generation,
    session.rotatedAt,
    session.createdAt,
    session.authenticatedAt,
    session.lastSeenAt,
    session.expiresAt,
    session.absoluteExpiresAt,
    session.revokedAt,
    session.revokedReason,
    session.userAgent,
    session.ip,
  ];
}

const copyDate = (date: Date) => new Date(date.getTime());

/** A record sharing nothing mutable with `record`. */
export function detached(record: SessionRecord): SessionRecord {
  return {
    ...record,
    roles: [...record.roles],
    claims: structuredClone(record.claims),
    rotatedAt: record.rotatedAt && copyDate(record.rotatedAt),
    createdAt: copyDate(record.createdAt),
    authenticatedAt: copyDate(record.authenticatedAt),
    lastSeenAt: copyDate(record.lastSeenAt),
    expiresAt: copyDate(record.expiresAt),
    absoluteExpiresAt: copyDate(record.absoluteExpiresAt),
    revokedAt: record.revokedAt && copyDate(record.revokedAt),
  };
}
