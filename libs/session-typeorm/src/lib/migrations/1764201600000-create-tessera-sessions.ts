import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Creates `tessera_sessions` with indexes for lookup by id (primary key), by user, and by expiry. */
export class CreateTesseraSessions1764201600000 implements MigrationInterface {
  readonly name = 'CreateTesseraSessions1764201600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "tessera_sessions" (
        "id" text PRIMARY KEY,
        "user_id" text NOT NULL,
        "roles" text[] NOT NULL DEFAULT '{}',
        "refresh_hash" text NOT NULL,
        "previous_refresh_hash" text,
        "generation" integer NOT NULL DEFAULT 0,
        "rotated_at" timestamptz,
        "created_at" timestamptz NOT NULL,
        "last_seen_at" timestamptz NOT NULL,
        "expires_at" timestamptz NOT NULL,
        "absolute_expires_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        "revoked_reason" text,
        "user_agent" text,
        "ip" text
      )`);
    await queryRunner.query(
      `CREATE INDEX "tessera_sessions_user_created_idx" ON "tessera_sessions" ("user_id", "created_at")`,
    );
    await queryRunner.query(`CREATE INDEX "tessera_sessions_expires_idx" ON "tessera_sessions" ("expires_at")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "tessera_sessions"`);
  }
}
