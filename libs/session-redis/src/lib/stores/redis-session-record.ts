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
    'aa', ms(record.authenticatedAt),
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

/**
 * A session from the fields a script read (`RECORD_FIELDS`, by position); null for an
 * absent or pending one.
 */
export function recordOf(id: string, reply: unknown): SessionRecord | null {
  if (!Array.isArray(reply)) return null;
  const [u, r, c, h, ph, g, ra, ca, ls, e, ae, va, vr, ua, ip, aa, p] = reply as Array<string | null>;
  if (u === null || u === undefined || (p !== null && p !== undefined)) return null;
  return {
    id,
    userId: u,
    roles: JSON.parse(r ?? '[]') as string[],
    claims: JSON.parse(c ?? '{}') as StoredClaims,
    refreshHash: h ?? '',
    previousRefreshHash: ph ?? null,
    generation: Number(g ?? 0),
    rotatedAt: time(ra),
    createdAt: time(ca) as Date,
    // Sessions written before the field existed: their login is the last authentication known.
    authenticatedAt: (time(aa) ?? time(ca)) as Date,
    lastSeenAt: time(ls) as Date,
    expiresAt: time(e) as Date,
    absoluteExpiresAt: time(ae) as Date,
    revokedAt: time(va),
    revokedReason: (vr ?? null) as RevocationReason | null,
    userAgent: ua ?? null,
    ip: ip ?? null,
  };
}

function time(value: string | null | undefined): Date | null {
  return value === null || value === undefined ? null : new Date(Number(value));
}

/** Epoch milliseconds as a decimal string. */
export function ms(date: Date): string {
  return String(date.getTime());
}
