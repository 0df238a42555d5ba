/** Whether the character is optional whitespace around cookie names and values (RFC 6265 §5.2). */
function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

/**
 * Reads one cookie from a `Cookie` header without decoding the others (or building an
 * array of them): it walks the `;`-separated pairs in place and slices only the value
 * asked for. Undefined when absent or malformed; the first of duplicates wins.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  const length = header.length;
  let from = 0;
  while (from < length) {
    let end = header.indexOf(';', from);
    if (end === -1) end = length;
    let start = from;
    while (start < end && isSpace(header.charCodeAt(start))) start++;
    if (header.startsWith(name, start)) {
      let eq = start + name.length;
      while (eq < end && isSpace(header.charCodeAt(eq))) eq++;
      if (eq < end && header.charCodeAt(eq) === 61 /* = */) return cookieValue(header, eq + 1, end);
    }
    from = end + 1;
  }
  return undefined;
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
