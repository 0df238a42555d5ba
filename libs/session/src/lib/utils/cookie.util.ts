/** Whether the character is optional whitespace around cookie names and values (RFC 6265 §5.2). */
function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

/**
 * A `Cookie` header carried one name twice. Browsers send every cookie whose domain and
 * path match, so a second cookie of our name means someone else set one (a sibling
 * subdomain's `Domain=` cookie, "cookie tossing"): which of the two is ours cannot be
 * told, so neither may be used.
 */
export class DuplicateCookieError extends Error {
  override readonly name = 'DuplicateCookieError';

  constructor(readonly cookieName: string) {
    super(`The request carries more than one "${cookieName}" cookie`);
  }
}

/** Start of the value when the pair at `start` is `name=...`, else -1. */
function valueStart(header: string, start: number, end: number, name: string): number {
  if (!header.startsWith(name, start)) return -1;
  let eq = start + name.length;
  while (eq < end && isSpace(header.charCodeAt(eq))) eq++;
  return eq < end && header.charCodeAt(eq) === 61 /* = */ ? eq + 1 : -1;
}

/**
 * Reads one cookie from a `Cookie` header without decoding the others (or building an
 * array of them): it walks the `;`-separated pairs in place and slices only the value
 * asked for. Undefined when absent or malformed. Throws `DuplicateCookieError` when the
 * name appears more than once (never "the first wins": the first is the one with the
 * longest path, which a tossed cookie can claim).
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const length = header.length;
  let found = -1;
  let foundEnd = -1;
  let from = 0;
  while (from < length) {
    let end = header.indexOf(';', from);
    if (end === -1) end = length;
    let start = from;
    while (start < end && isSpace(header.charCodeAt(start))) start++;
    const value = valueStart(header, start, end, name);
    if (value !== -1) {
      if (found !== -1) throw new DuplicateCookieError(name);
      found = value;
      foundEnd = end;
    }
    from = end + 1;
  }
  return found === -1 ? undefined : cookieValue(header, found, foundEnd);
}

function cookieValue(header: string, from: number, to: number): string | undefined {
  while (from < to && isSpace(header.charCodeAt(from))) from++;
  while (to > from && isSpace(header.charCodeAt(to - 1))) to--;
  let value = header.slice(from, to);
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
