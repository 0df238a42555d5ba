import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Adds `authenticated_at`, when the user last proved a credential for the session (the
 * login, or `SessionService.markAuthenticated`), which `@RequireFreshSession()` measures.
 * Existing rows get their `created_at` (their login: nothing later was recorded), in the
 * same transaction as the column, which then becomes NOT NULL. Its default, `now()`, is for
 * rows written by code that does not know the column (instances of the previous version
 * during a rolling deploy, an app's own SQL): such a row is written at its login, so now()
 * is its authentication time. Set after the backfill, so no existing row is rewritten with it.
 */
export class AddTesseraSessionAuthenticatedAt1796025600000 implements MigrationInterface {
  readonly name = 'AddTesseraSessionAuthenticatedAt1796025600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tessera_sessions" ADD COLUMN "authenticated_at" timestamptz`);
    await queryRunner.query(`UPDATE "tessera_sessions" SET "authenticated_at" = "created_at"`);
    await queryRunner.query(`ALTER TABLE "tessera_sessions" ALTER COLUMN "authenticated_at" SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE "tessera_sessions" ALTER COLUMN "authenticated_at" SET DEFAULT now()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "tessera_sessions" DROP COLUMN "authenticated_at"`);
  }
}
