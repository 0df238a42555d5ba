import type { RevocationReason, SessionRecord, StoredClaims } from '@tessera/session';

/** The hash fields of a session, in `HSET` order (see redis-session.scripts.ts). */
export function recordFields(record: SessionRecord): string[] {
  const fields = [
    'u', record.userId,
    'r', JSON.stringify(record.roles),
    'c', JSON.stringify(record.claims),
    'h', record.refreshHash,
    'g', String(record.generation),
    'ca', ms(record.createdAt),
    'ls', ms(record.lastSeenAt),
    'e', ms(record.expiresAt),
    'ae', ms(record.absoluteExpiresAt),
  ]; // prettier-ignore
  if (record.previousRefreshHash !== null) fields.push('ph', record.previousRefreshHash);
  if (record.rotatedAt !== null) fields.push('ra', ms(record.rotatedAt));
  if (record.revokedAt !== null) fields.push('va', ms(record.revokedAt));
  if (record.revokedReason !== null) fields.push('vr', record.revokedReason);
  if (record.userAgent !== null) fields.push('ua', record.userAgent);
  if (record.ip !== null) fields.push('ip', record.ip);
  return fields;
}

/** A session from the flat field/value list `HGETALL` returns; null for an absent or pending one. */
export function recordOf(id: string, reply: unknown): SessionRecord | null {
  if (!Array.isArray(reply) || reply.length === 0) return null;
  const hash = new Map<string, string>();
  for (let i = 0; i + 1 < reply.length; i += 2) hash.set(String(reply[i]), String(reply[i + 1]));
  if (hash.has('p') || !hash.has('u')) return null;
  const field = (name: string) => hash.get(name) ?? null;
  const time = (name: string) => {
    const value = hash.get(name);
    return value === undefined ? null : new Date(Number(value));
  };
  return {
    id,
    userId: hash.get('u') as string,
    roles: JSON.parse(hash.get('r') ?? '[]') as string[],
    claims: JSON.parse(hash.get('c') ?? '{}') as StoredClaims,
    refreshHash: hash.get('h') ?? '',
    previousRefreshHash: field('ph'),
    generation: Number(hash.get('g') ?? 0),
    rotatedAt: time('ra'),
    createdAt: time('ca') as Date,
    lastSeenAt: time('ls') as Date,
    expiresAt: time('e') as Date,
    absoluteExpiresAt: time('ae') as Date,
    revokedAt: time('va'),
    revokedReason: field('vr') as RevocationReason | null,
    userAgent: field('ua'),
    ip: field('ip'),
  };
}

/** Epoch milliseconds as a decimal string. */
export function ms(date: Date): string {
  return String(date.getTime());
}
