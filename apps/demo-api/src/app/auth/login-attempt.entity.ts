import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * One login-attempt window (`PostgresLoginAttemptStore`), when sessions are in PostgreSQL.
 * Rows go once `expires_at` has passed (the cleanup job), or as soon as nothing is left to
 * count (a success, or the last attempt in flight given back).
 */
@Entity({ name: 'login_attempts' })
@Index('login_attempts_expires_at_idx', ['expiresAt'])
export class LoginAttemptEntity {
  /** `<account hash>:<key>`: HMACs, never an email or client address. */
  @PrimaryColumn({ type: 'text' })
  key: string;

  @Column({ type: 'integer', default: 0 })
  failures: number;

  @Column({ name: 'in_flight', type: 'integer', default: 0 })
  inFlight: number;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt: Date;

  @Column({ name: 'last_failure_at', type: 'timestamptz', nullable: true })
  lastFailureAt: Date | null;

  @Column({ name: 'reserved_at', type: 'timestamptz', nullable: true })
  reservedAt: Date | null;

  /** When the row may be deleted: the window's end, later while an attempt may be in flight. */
  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;
}
