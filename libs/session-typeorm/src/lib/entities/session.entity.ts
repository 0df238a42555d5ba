import type { SessionRecord } from '@tessera/session';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Table of sessions. Never holds a refresh token, only its keyed hash. */
@Entity({ name: 'tessera_sessions' })
@Index('tessera_sessions_user_created_idx', ['userId', 'createdAt'])
@Index('tessera_sessions_expires_idx', ['expiresAt'])
@Index('tessera_sessions_revoked_idx', ['revokedAt'], { where: '"revoked_at" IS NOT NULL' })
export class SessionEntity {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ name: 'user_id', type: 'text' })
  userId: string;

  @Column({ type: 'text', array: true, default: () => "'{}'" })
  roles: string[];

  /** Custom claims of the session's access tokens: a JSON object, `{}` for none. */
  @Column({ type: 'jsonb', default: () => "'{}'" })
  claims: SessionRecord['claims'];

  @Column({ name: 'refresh_hash', type: 'text' })
  refreshHash: string;

  @Column({ name: 'previous_refresh_hash', type: 'text', nullable: true })
  previousRefreshHash: string | null;

  @Column({ type: 'integer', default: 0 })
  generation: number;

  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt: Date | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  /** When the user last proved a credential (`SessionRecord.authenticatedAt`). */
  @Column({ name: 'authenticated_at', type: 'timestamptz', default: () => 'now()' })
  authenticatedAt: Date;

  @Column({ name: 'last_seen_at', type: 'timestamptz' })
  lastSeenAt: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt: Date;

  @Column({ name: 'absolute_expires_at', type: 'timestamptz' })
  absoluteExpiresAt: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ name: 'revoked_reason', type: 'text', nullable: true })
  revokedReason: string | null;

  @Column({ name: 'user_agent', type: 'text', nullable: true })
  userAgent: string | null;

  @Column({ type: 'text', nullable: true })
  ip: string | null;
}
