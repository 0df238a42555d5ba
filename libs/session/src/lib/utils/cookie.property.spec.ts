import fc from 'fast-check';
import { DuplicateCookieError, readCookie } from './cookie.util';
import { serializeClearedCookie, serializeCookie } from './set-cookie.util';
import type { SessionCookieAttributes } from '../interfaces/session-http-adapter.interface';

// Property tests of the Cookie header reader and the Set-Cookie writer (a failure prints
// its seed and path; replay with `fc.assert(..., { seed, path })`).

// RFC 6265 §4.1.1 cookie-name is an RFC 7230 token.
const TCHAR = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const cookieName = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 20 });
// Values an app may set: any well-formed text (encodeURIComponent refuses lone surrogates, as Express does).
const cookieValue = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ unit: fc.constantFrom('"', ';', ' ', '%', '=', ',', '\t', 'a'), maxLength: 10 }));
const attributes: fc.Arbitrary<SessionCookieAttributes> = fc.record(
  {
    httpOnly: fc.boolean(),
    secure: fc.boolean(),
    sameSite: fc.constantFrom('lax' as const, 'strict' as const),
    path: fc.constantFrom('/', '/auth', '/auth/refresh'),
    maxAge: fc.integer({ min: 0, max: 400 * 86_400_000 }),
  },
  { requiredKeys: ['httpOnly', 'secure', 'sameSite', 'path'] },
);
const space = fc.constantFrom('', ' ', '  ', '\t');

/** What a browser sends back for a `Set-Cookie` value: its `name=value` pair. */
const pairOf = (setCookie: string): string => setCookie.slice(0, setCookie.indexOf(';'));

describe('readCookie (properties)', () => {
  it('returns a string or undefined, or throws DuplicateCookieError, for any header', () => {
    const header = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.array(fc.tuple(fc.constantFrom('a', 'ab', 'b', ' a', 'a '), fc.string({ maxLength: 10 })), { maxLength: 6 }).map((pairs) =>
        pairs.map(([n, v]) => `${n}=${v}`).join(';'),
      ),
    );
    fc.assert(
      fc.property(fc.option(header, { nil: undefined }), fc.constantFrom('a', 'ab', 'tessera-csrf', '__Host-tessera-csrf'), (value, name) => {
        try {
          const read = readCookie(value, name);
          expect(read === undefined || typeof read === 'string').toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(DuplicateCookieError);
          expect((error as DuplicateCookieError).cookieName).toBe(name);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('reads back what serializeCookie wrote, among other cookies, whatever the whitespace around it', () => {
    const others = fc.array(fc.tuple(cookieName, fc.string({ unit: fc.constantFrom(...TCHAR, '"'), maxLength: 10 })), { maxLength: 5 });
    fc.assert(
      fc.property(cookieName, cookieValue, attributes, others, fc.nat(), space, space, (name, value, attrs, rest, at, before, after) => {
        const setCookie = serializeCookie(name, value, attrs, 0);
        expect(setCookie).not.toMatch(/[\r\n\0]/);
        const pairs = rest.filter(([other]) => other !== name).map(([n, v]) => `${n}=${v}`);
        pairs.splice(at % (pairs.length + 1), 0, `${before}${pairOf(setCookie)}${after}`);
        expect(readCookie(pairs.join('; '), name)).toBe(value);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a name sent twice, whatever the values and their order', () => {
    fc.assert(
      fc.property(cookieName, cookieValue, cookieValue, space, (name, first, second, gap) => {
        const header = `${pairOf(serializeCookie(name, first, { httpOnly: true, secure: true, sameSite: 'lax', path: '/' }))};${gap}${name}${gap}=${encodeURIComponent(second)}`;
        expect(() => readCookie(header, name)).toThrow(DuplicateCookieError);
      }),
    );
  });

  it('writes a cleared cookie that reads back empty, with the attributes it was set with', () => {
    fc.assert(
      fc.property(cookieName, attributes, (name, attrs) => {
        const cleared = serializeClearedCookie(name, attrs);
        expect(readCookie(pairOf(cleared), name)).toBe('');
        expect(cleared).toContain(`; Path=${attrs.path}`);
        expect(cleared.includes('; Secure')).toBe(attrs.secure);
        expect(cleared.includes('; HttpOnly')).toBe(attrs.httpOnly);
      }),
    );
  });
});
