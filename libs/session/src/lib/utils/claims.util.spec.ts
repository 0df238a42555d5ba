import { runInNewContext } from 'node:vm';
import { MAX_CLAIMS_BYTES, RESERVED_CLAIMS, SessionClaimsError, checkedClaims, deepFreeze, sameClaims } from './claims.util';

describe('checkedClaims', () => {
  it('returns a copy of plain JSON claims, nested values included', () => {
    const claims = { tenantId: 't-1', plan: 'pro', flags: { beta: true, quota: 3, tags: ['a', null] }, 'é': 'ü' };
    const checked = checkedClaims(claims);
    expect(checked).toEqual(claims);
    expect(checked).not.toBe(claims);
    expect(checked.flags).not.toBe(claims.flags);
  });

  it('accepts plain objects of another realm (structuredClone, vm contexts, workers)', () => {
    const foreign = runInNewContext('({ plan: "pro", nested: { list: [1, { a: true }] } })') as object;
    expect(Object.getPrototypeOf(foreign)).not.toBe(Object.prototype);
    expect(checkedClaims(foreign)).toEqual({ plan: 'pro', nested: { list: [1, { a: true }] } });
    expect(checkedClaims(Object.assign(Object.create(null) as object, { plan: 'pro' }))).toEqual({ plan: 'pro' });
  });

  it('treats undefined and null as no claims', () => {
    expect(checkedClaims(undefined)).toEqual({});
    expect(checkedClaims(null)).toEqual({});
  });

  it.each([...RESERVED_CLAIMS].filter((name) => name !== '__proto__'))('refuses the reserved name %s', (name) => {
    expect(() => checkedClaims({ [name]: 'x' })).toThrow(new RegExp(`"${name}"`));
  });

  it('refuses __proto__ as an own claim name (JSON.parse makes one)', () => {
    expect(() => checkedClaims(JSON.parse('{"__proto__": {"admin": true}}'))).toThrow(SessionClaimsError);
  });

  it.each([
    ['a Date', { at: new Date(0) }, 'at'],
    ['undefined', { missing: undefined }, 'missing'],
    ['NaN', { n: Number.NaN }, 'n'],
    ['Infinity', { deep: { n: Number.POSITIVE_INFINITY } }, 'deep.n'],
    ['a function', { f: () => 1 }, 'f'],
    ['a bigint', { big: BigInt(1) }, 'big'],
    ['a Map', { m: new Map() }, 'm'],
    ['a class instance', { c: new (class Point { x = 1 })() }, 'c'],
    ['undefined in an array', { list: [1, undefined] }, 'list[1]'],
  ])('refuses %s, naming where it is and not what it holds', (_kind, claims, path) => {
    let error: unknown;
    try {
      checkedClaims(claims);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SessionClaimsError);
    expect((error as Error).message).toContain(`"${path}"`);
  });

  it.each([
    ['a NUL character', { note: 'a\u0000b' }],
    ['a lone high surrogate', { note: 'a\uD800' }],
    ['a lone low surrogate', { deep: ['\uDC00'] }],
    ['a NUL in a nested key', { deep: { 'k\u0000': 1 } }],
    ['a lone surrogate in a claim name', { '\uD800x': 1 }],
  ])('refuses text no store keeps as is: %s', (_case, claims) => {
    expect(() => checkedClaims(claims)).toThrow(/NUL character or a lone surrogate/);
  });

  it('accepts paired surrogates (emoji)', () => {
    expect(checkedClaims({ mood: '😀' })).toEqual({ mood: '😀' });
  });

  it('refuses what is not a plain object', () => {
    for (const value of ['tenant', 42, ['a'], new Date(0), new Map()]) {
      expect(() => checkedClaims(value)).toThrow(/plain object/);
    }
  });

  it('refuses nesting deeper than 8 levels', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 8; i++) deep = { d: deep };
    expect(() => checkedClaims({ top: deep })).toThrow(/nests deeper/);
    let ok: unknown = 'leaf';
    for (let i = 0; i < 6; i++) ok = { d: ok };
    expect(checkedClaims({ top: ok })).toEqual({ top: ok });
  });

  it(`accepts ${MAX_CLAIMS_BYTES} bytes of JSON and refuses one more, counting UTF-8 bytes`, () => {
    const overhead = JSON.stringify({ x: '' }).length;
    expect(Buffer.byteLength(JSON.stringify(checkedClaims({ x: 'a'.repeat(MAX_CLAIMS_BYTES - overhead) })))).toBe(
      MAX_CLAIMS_BYTES,
    );
    expect(() => checkedClaims({ x: 'a'.repeat(MAX_CLAIMS_BYTES - overhead + 1) })).toThrow(/1025 bytes/);
    // 'é' is two bytes: half as many characters reach the limit.
    expect(() => checkedClaims({ x: 'é'.repeat((MAX_CLAIMS_BYTES - overhead) / 2 + 1) })).toThrow(SessionClaimsError);
  });
});

describe('sameClaims', () => {
  it('ignores key order (jsonb reorders keys) but nothing else', () => {
    expect(sameClaims({ a: 1, b: { c: [1, 2], d: null } }, { b: { d: null, c: [1, 2] }, a: 1 })).toBe(true);
    expect(sameClaims({ a: 1 }, { a: '1' })).toBe(false);
    expect(sameClaims({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameClaims({}, { a: null })).toBe(false);
  });
});

describe('deepFreeze', () => {
  it('freezes nested objects and arrays', () => {
    const claims = deepFreeze({ a: { b: [1, { c: 2 }] } });
    expect(Object.isFrozen(claims)).toBe(true);
    expect(Object.isFrozen(claims.a)).toBe(true);
    expect(Object.isFrozen(claims.a.b)).toBe(true);
    expect(Object.isFrozen(claims.a.b[1])).toBe(true);
  });
});
