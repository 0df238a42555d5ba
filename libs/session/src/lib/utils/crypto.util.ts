import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/** Random base64url string of `bytes` bytes from the CSPRNG. */
export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
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
