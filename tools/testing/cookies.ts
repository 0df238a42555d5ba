import type { Response } from 'supertest';

/** One `Set-Cookie` line, parsed: name, value and attributes (lower-cased names). */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

/** Parses the `Set-Cookie` lines of a response. */
export function setCookiesOf(response: Response): SetCookie[] {
  return parseSetCookies(response.headers['set-cookie'] as string[] | string | undefined);
}

/** Parses a `Set-Cookie` header (one line or several). */
export function parseSetCookies(header: string[] | string | undefined): SetCookie[] {
  const lines = header === undefined ? [] : Array.isArray(header) ? header : [header];
  return lines.map((line) => {
    const [pair, ...attributes] = line.split(';').map((part) => part.trim());
    const eq = pair.indexOf('=');
    return {
      name: pair.slice(0, eq),
      value: decodeURIComponent(pair.slice(eq + 1)),
      attributes: Object.fromEntries(
        attributes.map((attribute) => {
          const at = attribute.indexOf('=');
          return at < 0 ? [attribute.toLowerCase(), true] : [attribute.slice(0, at).toLowerCase(), attribute.slice(at + 1)];
        }),
      ),
    };
  });
}

/**
 * The cookies a browser would hold, kept by hand (supertest's agent would drop `Secure`
 * cookies over plain http): absorbs `Set-Cookie`, forgets expired or emptied ones, and
 * sends those whose `Path` covers the request path.
 */
export class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  absorb(response: Response): Response {
    for (const cookie of setCookiesOf(response)) {
      const expires = cookie.attributes.expires;
      const expired = cookie.value === '' || (typeof expires === 'string' && Date.parse(expires) <= Date.now());
      if (expired) this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, { value: cookie.value, path: String(cookie.attributes.path ?? '/') });
    }
    return response;
  }

  get(name: string): string | undefined {
    return this.cookies.get(name)?.value;
  }

  /** The `Cookie` header for a request to `path`. */
  header(path: string): string {
    return [...this.cookies.entries()]
      .filter(([, cookie]) => path === cookie.path || path.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`))
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join('; ');
  }
}
