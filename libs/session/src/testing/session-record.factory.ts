import { randomBytes } from 'node:crypto';
import type { SessionRecord, SessionStore } from '../lib/interfaces/session-store.interface';

/** One hour in milliseconds. */
export const HOUR = 3_600_000;

/** A fresh random id (session ids, user ids) for tests that need no empty store. */
export const randomTestId = () => randomBytes(16).toString('base64url');
const id = randomTestId;

/** The time `hours` after `record` was created. */
export const hoursAfter = (record: SessionRecord, hours: number) => new Date(record.createdAt.getTime() + hours * HOUR);

/** A valid session record for tests, with unique ids; override any field. */
export function sessionRecordFixture(overrides: Partial<SessionRecord> = {}): SessionRecord {
  const now = new Date('2030-01-01T00:00:00.000Z');
  return {
    id: id(),
    userId: `user-${id()}`,
    roles: ['user'],
    claims: {},
    refreshHash: id(),
    previousRefreshHash: null,
    generation: 0,
    rotatedAt: null,
    createdAt: now,
    authenticatedAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + 24 * HOUR),
    absoluteExpiresAt: new Date(now.getTime() + 72 * HOUR),
    revokedAt: null,
    revokedReason: null,
    userAgent: 'contract-test',
    ip: '127.0.0.1',
    ...overrides,
  };
}

/** Two new sessions in `store`: one revoked an hour after it began, one left to expire (a day after it began). */
export async function revokedAndExpired(store: SessionStore): Promise<{ revoked: SessionRecord; expired: SessionRecord }> {
  const revoked = sessionRecordFixture();
  const expired = sessionRecordFixture();
  await store.create(revoked);
  await store.create(expired);
  await store.revoke(revoked.id, 'logout', hoursAfter(revoked, 1));
  return { revoked, expired };
}
