import { ApiProperty } from '@nestjs/swagger';
import type { SessionRecord } from '@tessera/session';

/** One session as `GET /auth/sessions` and the admin listing show it. */
export class SessionView {
  @ApiProperty({ description: 'Public handle of the session (not a credential)', example: 'h0x2Qm1aZkP4sT9uVw3yBg' })
  id: string;

  @ApiProperty({ format: 'date-time', description: 'Login time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', description: 'Last recorded activity' })
  lastSeenAt: string;

  @ApiProperty({ format: 'date-time', description: 'When the session ends unless it is used again' })
  expiresAt: string;

  @ApiProperty({ type: String, nullable: true, description: 'User agent seen at login' })
  userAgent: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Client IP seen at login' })
  ip: string | null;

  @ApiProperty({ description: 'Whether this is the session making the request' })
  current: boolean;
}

/**
 * The response item for a stored session. Fields are copied one by one, so hashes,
 * roles and whatever a store adds later never reach a response.
 */
export function toSessionView(record: SessionRecord, currentSessionId: string): SessionView {
  return {
    id: record.id,
    createdAt: record.createdAt.toISOString(),
    lastSeenAt: record.lastSeenAt.toISOString(),
    expiresAt: record.expiresAt.toISOString(),
    userAgent: record.userAgent,
    ip: record.ip,
    current: record.id === currentSessionId,
  };
}
