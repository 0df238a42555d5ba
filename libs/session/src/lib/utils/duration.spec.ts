import { parseDuration } from './duration';

describe('parseDuration', () => {
  it.each([
    ['1ms', 1],
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 900_000],
    ['12h', 43_200_000],
    ['7d', 604_800_000],
    ['30d', 2_592_000_000],
    [' 10m ', 600_000],
    ['007s', 7_000],
    ['999999999ms', 999_999_999],
  ])('parses %p as %d ms', (value, expected) => {
    expect(parseDuration(value)).toBe(expected);
  });

  it.each([1, 1_500, Number.MAX_SAFE_INTEGER])('takes the number %p as milliseconds', (value) => {
    expect(parseDuration(value)).toBe(value);
  });

  it.each([0, -1, -1_000, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1])(
    'refuses the number %p',
    (value) => {
      expect(parseDuration(value)).toBeUndefined();
    },
  );

  it.each([
    '',
    '   ',
    '0ms',
    '0s',
    '0d',
    '-5m',
    '+5m',
    '10',
    '1.5h',
    '10 m',
    '10M',
    '10S',
    '1w',
    '1y',
    'm',
    'ten minutes',
    '5m5s',
    '1e3ms',
    '0x10s',
    '1000000000ms',
  ])('refuses the string %p', (value) => {
    expect(parseDuration(value)).toBeUndefined();
  });

  it('refuses a value that overflows a safe integer (999999999d)', () => {
    expect(parseDuration('999999999d')).toBeUndefined();
  });

  it.each([null, undefined, {}, [], true])('refuses the non-duration %p', (value) => {
    expect(parseDuration(value as unknown as string)).toBeUndefined();
  });
});
