import type { MigrationInterface, QueryRunner } from 'typeorm';

const notifyFunction = (body: string) => `
  CREATE OR REPLACE FUNCTION "tessera_sessions_notify_revoked"() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    ${body}
    RETURN NULL;
  END
  $$`;

/**
 * The revocation trigger also notifies `tessera_sessions_revoked_at` with
 * `<session id> <epoch milliseconds>`: when the revocation was written (PostgreSQL's clock,
 * inside its transaction, just before the commit), so each instance can measure how long
 * the announcement took to reach it (`tessera.revocation.propagation.lag`). The bare-id
 * notification on `tessera_sessions_revoked` is unchanged, for instances of earlier versions
 * during a rolling deploy (they never LISTEN on the new channel; PostgreSQL drops a
 * notification no session listens for).
 */
export class NotifyTesseraRevocationTimes1796112000000 implements MigrationInterface {
  readonly name = 'NotifyTesseraRevocationTimes1796112000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      notifyFunction(`PERFORM pg_notify('tessera_sessions_revoked', NEW.id);
    PERFORM pg_notify('tessera_sessions_revoked_at',
      NEW.id || ' ' || floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint);`),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(notifyFunction(`PERFORM pg_notify('tessera_sessions_revoked', NEW.id);`));
  }
}
