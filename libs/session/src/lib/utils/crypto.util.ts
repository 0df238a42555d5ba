import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

// CSPRNG output is drawn in blocks and each byte handed out once, as Node's own
// crypto.randomUUID() does: one call into OpenSSL per 4 KiB instead of one per token
// (each costs about as much as the rest of signing an access token). Used bytes are wiped.
const POOL_BYTES = 4_096;
let pool = Buffer.alloc(0);
let offset = 0;

/** Random base64url string of `bytes` bytes from the CSPRNG. */
export function randomToken(bytes: number): string {
  if (bytes > POOL_BYTES / 8) return randomBytes(bytes).toString('base64url');
  if (offset + bytes > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const end = offset + bytes;
  const token = pool.toString('base64url', offset, end);
  pool.fill(0, offset, end);
  offset = end;
  return token;
}

/** HMAC-SHA256 of `value` under `key`, base64url. */
export function hmac(key: KeyObject, value: string): string {
  return createHmac('sha256', key).update(value).digest('base64url');
}

/** Constant-time string comparison (length is not secret). */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
