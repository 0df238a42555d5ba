import type { RevocationReason } from '@tessera/session';
import type { DataSource } from 'typeorm';

/*
 * `reissue`, `revokeByUser` and `updateUserSessions` of one user take the same
 * transaction-scoped advisory lock, so they never interleave. A row lock alone is not enough under
 * READ COMMITTED: a `revokeByUser` whose UPDATE waits on the old session's row while a
 * reissue commits re-checks that row (now revoked) but cannot see the successor the
 * reissue inserted, which was not in its snapshot, and would leave it live.
 */

/** First key of the per-user advisory lock (the second is `hashtext(user_id)`). */
export const USER_LOCK_CLASS = 1_949_283_722;

/**
 * Columns a successor takes from the old session as it stands when it moves, not from
 * the caller: its grants. The caller read them before the reissue (`findById`, then
 * `reissue`); an `updateUserSessions` that committed in between changed the old row,
 * which the reissue's UPDATE re-reads (READ COMMITTED follows the row to its newest
 * version), so the successor never brings back the grants the update replaced.
 */
const INHERITED_COLUMNS: ReadonlySet<string> = new Set(['roles', 'claims']);

/**
 * The statement of `reissue`: it takes the user's lock before touching any row (so it
 * never holds the old row while waiting for the lock: no deadlock with `revokeByUser`
 * or `updateUserSessions`), revokes the old session only if it is live and the user's,
 * and inserts the successor from that UPDATE's result (its grants included, see
 * `INHERITED_COLUMNS`), in one statement, so one commits only with the other.
 * Parameters: $1 old id, $2 time, $3 reason, $4 lock class, then the successor's
 * columns but the inherited ones, from $5 (see `reissueParameters`).
 */
export function reissueStatement(table: string, columns: readonly string[]): string {
  const given = columns.filter((column) => !INHERITED_COLUMNS.has(column));
  const parameter = (column: string) => `$${given.indexOf(column) + 5}`;
  const successor = columns.map((column) => (INHERITED_COLUMNS.has(column) ? `old.${column}` : parameter(column)));
  const userId = parameter('user_id');
  return `WITH user_lock AS (
      SELECT true AS held FROM pg_advisory_xact_lock($4::integer, hashtext(${userId}::text))
    ), old AS (
      UPDATE ${table} SET revoked_at = $2, revoked_reason = $3
       WHERE id = $1 AND user_id = ${userId} AND revoked_at IS NULL AND expires_at > $2
         AND (SELECT held FROM user_lock)
      RETURNING id, ${[...INHERITED_COLUMNS].join(', ')}
    )
    INSERT INTO ${table} (${columns.join(', ')}) SELECT ${successor.join(', ')} FROM old`;
}

/**
 * Values for `reissueStatement`: `values` are the successor's, in the order of
 * `columns` (those the statement was built with); the inherited ones are left out.
 */
export function reissueParameters(
  oldId: string,
  reason: RevocationReason,
  at: Date,
  columns: readonly string[],
  values: readonly unknown[],
): unknown[] {
  return [oldId, at, reason, USER_LOCK_CLASS, ...values.filter((_, i) => !INHERITED_COLUMNS.has(columns[i]))];
}

/**
 * `revokeByUser` in a short READ COMMITTED transaction: the user's lock first, then the
 * UPDATE, whose snapshot (taken after the lock) includes any successor a reissue that
 * held the lock committed.
 */
export async function revokeUserSessions(
  dataSource: DataSource,
  table: string,
  userId: string,
  reason: RevocationReason,
  at: Date,
  exceptId: string | undefined,
): Promise<string[]> {
  const runner = dataSource.createQueryRunner('master');
  try {
    await runner.startTransaction('READ COMMITTED');
    await runner.query('SELECT pg_advisory_xact_lock($1::integer, hashtext($2::text))', [USER_LOCK_CLASS, userId]);
    const result = await runner.query(
      `UPDATE ${table} SET revoked_at = $2, revoked_reason = $3
        WHERE user_id = $1 AND revoked_at IS NULL AND ($4::text IS NULL OR id <> $4)
        RETURNING id`,
      [userId, at, reason, exceptId ?? null],
      true,
    );
    await runner.commitTransaction();
    return (result.records as Array<{ id: string }>).map((row) => row.id);
  } catch (error) {
    if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
}
