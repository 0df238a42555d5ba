import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Adds the sessions' custom claims (`claims jsonb`, `{}` for none; existing rows get
 * `{}`) and `tessera_update_user_sessions`, the body of `updateUserSessions`.
 *
 * Why a function: the update must take the user's advisory lock (the one `reissue` and
 * `revokeByUser` take) BEFORE the snapshot its UPDATE reads, or it misses the successor
 * a reissue that held the lock has just committed (a statement's snapshot predates a
 * lock taken inside it). A VOLATILE plpgsql function takes a fresh snapshot for each of
 * its statements, so lock, UPDATE and NOTIFY stay one call, one round trip. The table,
 * the lock class and the channel are arguments: the store keeps them in one place.
 */
export class AddTesseraSessionClaims1764806400000 implements MigrationInterface {
  readonly name = 'AddTesseraSessionClaims1764806400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tessera_sessions" ADD COLUMN "claims" jsonb NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`
      CREATE FUNCTION "tessera_update_user_sessions"(
        sessions regclass, lock_class integer, user_id text, roles text[], claims jsonb, at timestamptz, channel text
      ) RETURNS integer LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        updated integer;
      BEGIN
        -- Under REPEATABLE READ or SERIALIZABLE every statement reads the transaction's first
        -- snapshot, taken before the lock: a reissued successor could keep its old grants.
        IF current_setting('transaction_isolation') <> 'read committed' THEN
          RAISE EXCEPTION 'tessera_update_user_sessions needs READ COMMITTED, not %', current_setting('transaction_isolation')
            USING ERRCODE = '25000';
        END IF;
        PERFORM pg_advisory_xact_lock(lock_class, hashtext(user_id));
        EXECUTE format('UPDATE %s SET roles = $1, claims = $2 WHERE user_id = $3 AND revoked_at IS NULL AND expires_at > $4', sessions)
          USING roles, claims, user_id, at;
        GET DIAGNOSTICS updated = ROW_COUNT;
        -- Sent at commit, whether or not a row changed (an instance may remember the user anyway).
        PERFORM pg_notify(channel, user_id);
        RETURN updated;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP FUNCTION "tessera_update_user_sessions"(regclass, integer, text, text[], jsonb, timestamptz, text)`,
    );
    await queryRunner.query(`ALTER TABLE "tessera_sessions" DROP COLUMN "claims"`);
  }
}
