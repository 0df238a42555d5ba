import type { RevocationReason } from '@tessera/session';
import type { DataSource } from 'typeorm';

/*
 * `reissue` and `revokeByUser` of one user take the same transaction-scoped advisory lock,
 * so they never interleave. A row lock alone is not enough under
 * READ COMMITTED: a `revokeByUser` whose UPDATE waits on the old session's row while a
 * reissue commits re-checks that row (now revoked) but cannot see the successor the
 * reissue inserted, which was not in its snapshot, and would leave it live.
 */

/** First key of the per-user advisory lock (the second is `hashtext(user_id)`). */
const USER_LOCK_CLASS = 1_949_283_722;

/**
 * The statement of `reissue`: it takes the user's lock before touching any row (so it
 * never holds the old row while waiting for the lock: no deadlock with `revokeByUser`),
 * revokes the old session only if it is live and the user's, and inserts the successor
 * from that UPDATE's result, in one statement, so one commits only with the other.
 * Parameters: $1 old id, $2 time, $3 reason, $4 lock class, then the successor's
 * columns from $5 (its user id is $6).
 */
export function reissueStatement(table: string, columns: readonly string[]): string {
  const successor = columns.map((_, i) => `$${i + 5}`).join(', ');
  return `WITH user_lock AS (
      SELECT true AS held FROM pg_advisory_xact_lock($4::integer, hashtext($6::text))
    ), old AS (
      UPDATE ${table} SET revoked_at = $2, revoked_reason = $3
       WHERE id = $1 AND user_id = $6 AND revoked_at IS NULL AND expires_at > $2
         AND (SELECT held FROM user_lock)
      RETURNING id
    )
    INSERT INTO ${table} (${columns.join(', ')}) SELECT ${successor} FROM old`;
}

/** Values for `reissueStatement` before the successor's columns. */
export function reissueParameters(oldId: string, reason: RevocationReason, at: Date): unknown[] {
  return [oldId, at, reason, USER_LOCK_CLASS];
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
