import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Announces every revocation on the `tessera_sessions_revoked` channel (payload: the
 * session id) from a trigger, so a revocation made by any path (the library, an admin's
 * SQL) reaches every instance's revocation cache. Also indexes recent revocations for
 * the resync that follows every (re)connect of a listener.
 */
export class NotifyTesseraRevocations1764201800000 implements MigrationInterface {
  readonly name = 'NotifyTesseraRevocations1764201800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "tessera_sessions_notify_revoked"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('tessera_sessions_revoked', NEW.id);
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER "tessera_sessions_revoked_notify"
        AFTER UPDATE OF "revoked_at" ON "tessera_sessions"
        FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
        EXECUTE FUNCTION "tessera_sessions_notify_revoked"()`);
    await queryRunner.query(
      `CREATE INDEX "tessera_sessions_revoked_idx" ON "tessera_sessions" ("revoked_at") WHERE "revoked_at" IS NOT NULL`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "tessera_sessions_revoked_idx"`);
    await queryRunner.query(`DROP TRIGGER "tessera_sessions_revoked_notify" ON "tessera_sessions"`);
    await queryRunner.query(`DROP FUNCTION "tessera_sessions_notify_revoked"()`);
  }
}
