import { createHash } from 'node:crypto';
import { COLUMN_NAMES, COLUMNS } from './session-row';
import { reissueStatement, USER_LOCK_CLASS } from './user-revocations';
import { USER_CHANGED_CHANNEL } from '../migrations';

/** A statement run often enough to be prepared once per connection. */
export interface Statement {
  text: string;
  /** pg prepares it under this name; derived from the text, so one name never means two texts. */
  name: string;
}

function statement(kind: string, text: string): Statement {
  return { text, name: `tessera_${kind}_${createHash('sha256').update(text).digest('hex').slice(0, 12)}` };
}

/** The SQL of `PostgresSessionStore` on one table: prepared statements for the per-request calls, plain text for the rest. */
export interface SessionStatements {
  create: Statement;
  find: Statement;
  rotate: Statement;
  touch: Statement;
  markAuthenticated: string;
  revoke: Statement;
  /** See `reissueStatement`. */
  reissue: string;
  /** See `updateUserSessionsParameters`. */
  updateUserSessions: string;
  listByUser: string;
  listRevokedSince: string;
  countLive: string;
  deleteExpired: string;
}

/** Values for `updateUserSessions` on `table` (quoted, see `quotedTable`). */
export function updateUserSessionsParameters(
  table: string,
  userId: string,
  roles: string[],
  claims: object,
  at: Date,
): unknown[] {
  return [table, USER_LOCK_CLASS, userId, roles, JSON.stringify(claims), at, USER_CHANGED_CHANNEL];
}

/** pg_try_advisory_lock key naming "the Tessera session cleanup". */
export const CLEANUP_LOCK_KEY = 1_949_283_721;

/** Takes the cleanup lock if free; answers `locked`. */
export const TRY_CLEANUP_LOCK = 'SELECT pg_try_advisory_lock($1) AS locked';

/** Releases the cleanup lock. */
export const RELEASE_CLEANUP_LOCK = 'SELECT pg_advisory_unlock($1)';

/** `schema.table` (or `table`), each name quoted. */
export function quotedTable(schema: string | undefined, tableName: string): string {
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  return schema ? `${quote(schema)}.${quote(tableName)}` : quote(tableName);
}

/** Every statement of the store on `table` (quoted, see `quotedTable`). */
export function sessionStatements(table: string): SessionStatements {
  return {
    create: statement(
      'create',
      `INSERT INTO ${table} (${COLUMNS}) VALUES (${COLUMN_NAMES.map((_, i) => `$${i + 1}`).join(', ')})`,
    ),
    // One statement for one session or many: a lookup alone sends a one-element array.
    find: statement('find', `SELECT ${COLUMNS} FROM ${table} WHERE id = ANY($1::text[])`),
    // The compare-and-swap of a refresh, for one session or many at once: PostgreSQL
    // updates each matching row atomically, and rows whose condition fails are skipped.
    rotate: statement(
      'rotate',
      `UPDATE ${table} AS s
            SET previous_refresh_hash = s.refresh_hash,
                refresh_hash = r.refresh_hash,
                generation = s.generation + 1,
                rotated_at = r.now,
                last_seen_at = r.now,
                expires_at = LEAST(r.expires_at, s.absolute_expires_at)
           FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
                AS r(id, expected_refresh_hash, refresh_hash, now, expires_at)
          WHERE s.id = r.id AND s.refresh_hash = r.expected_refresh_hash
            AND s.revoked_at IS NULL AND s.expires_at > r.now
          RETURNING ${COLUMN_NAMES.map((column) => `s.${column}`).join(', ')}`,
    ),
    touch: statement(
      'touch',
      `UPDATE ${table}
            SET last_seen_at = GREATEST(last_seen_at, $2),
                expires_at = GREATEST(expires_at, LEAST($3::timestamptz, absolute_expires_at))
          WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2`,
    ),
    // Rare (a step-up), so not prepared; never moves authenticated_at backwards.
    markAuthenticated: `UPDATE ${table}
            SET authenticated_at = GREATEST(authenticated_at, $2)
          WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2
          RETURNING ${COLUMNS}`,
    revoke: statement(
      'revoke',
      `UPDATE ${table} SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL`,
    ),
    reissue: reissueStatement(table, COLUMN_NAMES),
    // The function of migration AddTesseraSessionClaims1764806400000: the user's lock, then
    // the UPDATE on a snapshot taken after it, then pg_notify, in one call (see there why).
    updateUserSessions: `SELECT tessera_update_user_sessions($1::regclass, $2::integer, $3::text, $4::text[], $5::jsonb, $6::timestamptz, $7::text) AS updated`,
    listByUser: `SELECT ${COLUMNS} FROM ${table}
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
        ORDER BY created_at, id`,
    listRevokedSince: `SELECT id, revoked_at FROM ${table} WHERE revoked_at >= $1`,
    // Walks the expires_at index from now on (sessions past their idle expiry are never read).
    countLive: `SELECT count(*)::int AS live FROM ${table}
        WHERE expires_at > $1 AND absolute_expires_at > $1 AND revoked_at IS NULL`,
    // One short statement per batch; SKIP LOCKED so it never waits on a row in use. Each
    // condition walks its own index in order and stops after `limit` rows, so a batch
    // costs the same however many expired rows remain: with `expires_at < $1 OR
    // revoked_at < $1` the planner, given fresh statistics of a table full of expired
    // rows, picks a bitmap OR that collects every match before the LIMIT.
    deleteExpired: `WITH expired AS (
         SELECT id FROM ${table} WHERE expires_at < $1
          ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), revoked AS (
         SELECT id FROM ${table} WHERE revoked_at < $1 AND expires_at >= $1
          ORDER BY revoked_at LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       DELETE FROM ${table} WHERE id IN (
         SELECT id FROM expired UNION ALL SELECT id FROM revoked LIMIT $2)`,
  };
}
