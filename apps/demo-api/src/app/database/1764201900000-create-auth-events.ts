import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Creates the demo's audit trail, `auth_events`. */
export class CreateAuthEvents1764201900000 implements MigrationInterface {
  readonly name = 'CreateAuthEvents1764201900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "auth_events" (
        "id" bigserial PRIMARY KEY,
        "type" text NOT NULL,
        "outcome" text NOT NULL,
        "user_id" text,
        "session_fingerprint" text,
        "reason" text,
        "ip" text,
        "user_agent" text,
        "created_at" timestamptz NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX "auth_events_user_created_idx" ON "auth_events" ("user_id", "created_at")`);
    await queryRunner.query(`CREATE INDEX "auth_events_created_idx" ON "auth_events" ("created_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "auth_events"`);
  }
}
