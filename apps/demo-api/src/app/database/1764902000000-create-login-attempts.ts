import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Creates `login_attempts`, the login-throttling counters every instance shares when sessions are in PostgreSQL. */
export class CreateLoginAttempts1764902000000 implements MigrationInterface {
  readonly name = 'CreateLoginAttempts1764902000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "login_attempts" (
        "key" text PRIMARY KEY,
        "failures" integer NOT NULL DEFAULT 0,
        "in_flight" integer NOT NULL DEFAULT 0,
        "started_at" timestamptz NOT NULL,
        "last_failure_at" timestamptz,
        "reserved_at" timestamptz,
        "expires_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "login_attempts_expires_at_idx" ON "login_attempts" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "login_attempts"`);
  }
}
