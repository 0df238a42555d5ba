import fc from 'fast-check';
import { parseDuration } from './duration';

// Property tests of durations (a failure prints its seed and path; replay with `fc.assert(..., { seed, path })`).

const UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

describe('parseDuration (properties)', () => {
  it('returns a positive safe integer or undefined, never a throw, for anything', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string({ unit: 'binary' }), fc.double(), fc.stringMatching(/^-?\d{0,12}(ms|s|m|h|d|y|)$/)), (value) => {
        const ms = parseDuration(value as string);
        expect(ms === undefined || (Number.isSafeInteger(ms) && ms > 0)).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('parses back every duration it documents, padded or not, as the number and unit it was written with', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 999_999_999 }),
        fc.constantFrom(...(Object.keys(UNITS) as (keyof typeof UNITS)[])),
        fc.constantFrom('', ' ', '\t', '\n'),
        (amount, unit, pad) => {
          const ms = amount * UNITS[unit];
          const expected = ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
          expect(parseDuration(`${pad}${amount}${unit}${pad}`)).toBe(expected);
          if (expected !== undefined) expect(parseDuration(expected)).toBe(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
