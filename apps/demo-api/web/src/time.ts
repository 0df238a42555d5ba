const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium' });

const UNITS: Array<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
];

/** "5 minutes ago", "in 30 seconds", "now": how far `at` is from `now`, in its largest whole unit. */
export function fromNow(at: number, now: number): string {
  const delta = at - now;
  for (const [unit, ms] of UNITS) {
    if (Math.abs(delta) >= ms || unit === 'second') {
      const value = Math.round(delta / ms);
      return value === 0 ? 'now' : relative.format(value, unit);
    }
  }
  return 'now';
}

/** The date and time in the reader's time zone, for a tooltip. */
export function formatAbsolute(at: number): string {
  return absolute.format(new Date(at));
}

/** "4 min 05 s", a countdown. */
export function countdown(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  const rest = seconds % 60;
  return minutes > 0 ? `${minutes} min ${String(rest).padStart(2, '0')} s` : `${rest} s`;
}
