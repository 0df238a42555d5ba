const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PATTERN = /^(\d{1,9})(ms|s|m|h|d)$/;

/**
 * Parses `500ms`, `30s`, `15m`, `12h`, `7d` (or a number of milliseconds) into
 * milliseconds. Returns `undefined` for anything else, including zero and negatives.
 */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const match = PATTERN.exec(value.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS[match[2]];
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
