import { DuplicateCookieError, readCookie } from './cookie.util';

describe('readCookie', () => {
  it('returns undefined without a header', () => {
    expect(readCookie(undefined, 'a')).toBeUndefined();
    expect(readCookie('', 'a')).toBeUndefined();
  });

  it('reads the named cookie among others', () => {
    const header = 'theme=dark; __Host-tessera-at=abc.def.ghi; lang=en';
    expect(readCookie(header, '__Host-tessera-at')).toBe('abc.def.ghi');
    expect(readCookie(header, 'theme')).toBe('dark');
    expect(readCookie(header, 'lang')).toBe('en');
  });

  it('returns undefined when the cookie is absent', () => {
    expect(readCookie('theme=dark; lang=en', '__Host-tessera-at')).toBeUndefined();
  });

  it('matches the whole name, not a prefix or suffix', () => {
    expect(readCookie('x__Host-tessera-at=wrong; __Host-tessera-at-old=wrong2', '__Host-tessera-at')).toBeUndefined();
    expect(readCookie('tessera-at=plain; __Host-tessera-at=prefixed', 'tessera-at')).toBe('plain');
    expect(readCookie('tessera-at=plain; __Host-tessera-at=prefixed', '__Host-tessera-at')).toBe('prefixed');
  });

  it('trims whitespace around names and values', () => {
    expect(readCookie('  a  =  1  ;b=2', 'a')).toBe('1');
    expect(readCookie('a=1;b=2', 'b')).toBe('2');
  });

  it('keeps "=" inside a value', () => {
    expect(readCookie('t=abc==; u=x=y', 't')).toBe('abc==');
    expect(readCookie('t=abc==; u=x=y', 'u')).toBe('x=y');
  });

  it('removes surrounding double quotes', () => {
    expect(readCookie('a="quoted value"', 'a')).toBe('quoted value');
    expect(readCookie('a="', 'a')).toBe('"');
    expect(readCookie('a=""', 'a')).toBe('');
  });

  it('percent-decodes the value', () => {
    expect(readCookie('a=hello%20world%3B%3D', 'a')).toBe('hello world;=');
  });

  it('returns undefined for a malformed percent-encoding instead of throwing', () => {
    expect(readCookie('a=%E0%A4%A', 'a')).toBeUndefined();
    expect(readCookie('a=100%', 'a')).toBeUndefined();
  });

  it('skips parts without "="', () => {
    expect(readCookie('flag; a=1; b=2', 'a')).toBe('1');
    expect(readCookie('a', 'a')).toBeUndefined();
  });

  // Issue 12, finding 4: the first of two cookies is the one with the longest path, which
  // a sibling subdomain's tossed `Domain=` cookie can claim; neither may be trusted.
  it('finding 4: refuses a name that appears twice instead of taking the first', () => {
    expect(() => readCookie('flag; a=1; a=2', 'a')).toThrow(DuplicateCookieError);
    expect(() => readCookie('a=1;b=2; a =1', 'a')).toThrow(DuplicateCookieError);
    expect(() => readCookie('__Secure-tessera-rt=tossed; x=1; __Secure-tessera-rt=mine', '__Secure-tessera-rt')).toThrow(
      expect.objectContaining({ cookieName: '__Secure-tessera-rt' }),
    );
    // Other names repeating do not matter.
    expect(readCookie('b=1; a=1; b=2', 'a')).toBe('1');
  });

  it('tells a longer name from the one asked for, also with whitespace before "="', () => {
    expect(readCookie('ab=1; a b=2; a\t=3', 'a')).toBe('3');
    expect(readCookie('ab=1', 'a')).toBeUndefined();
    expect(readCookie('a b=2', 'a')).toBeUndefined();
  });

  it('leaves values without "%" as they are', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    expect(readCookie(`other=1;__Host-tessera-at=${jwt}`, '__Host-tessera-at')).toBe(jwt);
  });

  it('returns an empty string for an empty value', () => {
    expect(readCookie('a=; b=2', 'a')).toBe('');
  });
});
