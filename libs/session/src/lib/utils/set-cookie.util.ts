import type { SessionCookieAttributes } from '../interfaces/session-http-adapter.interface';

/** `Expires` of a cleared cookie: the epoch's first millisecond, as Express's `res.clearCookie` writes it. */
const EXPIRED = new Date(1).toUTCString();

/** ` HttpOnly; Secure; SameSite=...` and the rest of the flags, in the order Express's `cookie` package writes them. */
function flags(attributes: SessionCookieAttributes): string {
  let flags = '';
  if (attributes.httpOnly) flags += '; HttpOnly';
  if (attributes.secure) flags += '; Secure';
  return flags + (attributes.sameSite === 'strict' ? '; SameSite=Strict' : '; SameSite=Lax');
}

/**
 * A `Set-Cookie` value for `name=value`, byte for byte what Express's `res.cookie` writes
 * for the same attributes (the `cookie` package's order: `Max-Age`, `Path`, `Expires`,
 * flags), so a platform without Express's response API sends identical cookies.
 * `maxAge` (ms) becomes `Max-Age` in whole seconds, which RFC 6265 §5.3 step 3 makes win
 * over `Expires`; `Expires` (from the wall clock, as Express does) is for old clients.
 * The value is URI-encoded as Express does (tokens are base64url and stay as they are).
 */
export function serializeCookie(name: string, value: string, attributes: SessionCookieAttributes, now = Date.now()): string {
  let cookie = `${name}=${encodeURIComponent(value)}`;
  const maxAge = attributes.maxAge;
  if (maxAge !== undefined) cookie += `; Max-Age=${Math.floor(maxAge / 1000)}`;
  cookie += `; Path=${attributes.path || '/'}`;
  if (maxAge !== undefined) cookie += `; Expires=${new Date(now + maxAge).toUTCString()}`;
  return cookie + flags(attributes);
}

/**
 * A `Set-Cookie` value that deletes `name`: empty, expired, with the path and flags it was
 * set with (a browser replaces a cookie only under the same name, domain and path,
 * RFC 6265 §5.3 step 11), as Express's `res.clearCookie` writes it.
 */
export function serializeClearedCookie(name: string, attributes: SessionCookieAttributes): string {
  return `${name}=; Path=${attributes.path || '/'}; Expires=${EXPIRED}${flags(attributes)}`;
}
