import { serializeClearedCookie, serializeCookie } from './set-cookie.util';

describe('serializeCookie', () => {
  const now = Date.UTC(2026, 0, 2, 3, 4, 5, 600);

  it("writes Max-Age, Path, Expires and the flags in the order of Express's res.cookie", () => {
    expect(serializeCookie('__Host-tessera-at', 'a.b-c_d', { httpOnly: true, secure: true, sameSite: 'lax', path: '/', maxAge: 600_999 }, now)).toBe(
      '__Host-tessera-at=a.b-c_d; Max-Age=600; Path=/; Expires=Fri, 02 Jan 2026 03:14:06 GMT; HttpOnly; Secure; SameSite=Lax',
    );
    expect(serializeCookie('rt', 'v', { httpOnly: true, secure: false, sameSite: 'strict', path: '/auth' }, now)).toBe(
      'rt=v; Path=/auth; HttpOnly; SameSite=Strict',
    );
    expect(serializeCookie('csrf', 'v', { httpOnly: false, secure: false, sameSite: 'lax', path: '/', maxAge: 0 }, now)).toBe(
      'csrf=v; Max-Age=0; Path=/; Expires=Fri, 02 Jan 2026 03:04:05 GMT; SameSite=Lax',
    );
  });

  it('URI-encodes the value as Express does', () => {
    expect(serializeCookie('n', 'a b;c', { httpOnly: true, secure: true, sameSite: 'lax', path: '/' })).toBe(
      'n=a%20b%3Bc; Path=/; HttpOnly; Secure; SameSite=Lax',
    );
  });

  it('clears a cookie with its path and flags, expired at the epoch and without Max-Age', () => {
    expect(serializeClearedCookie('rt', { httpOnly: true, secure: true, sameSite: 'strict', path: '/auth', maxAge: 5000 })).toBe(
      'rt=; Path=/auth; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict',
    );
  });
});
