import request from 'supertest';
import type { CallbackHandler, Response, Test } from 'supertest';
import { parseSetCookies } from './demo-app';

/** Origin of the tests' web page: start the app with `ALLOWED_ORIGINS: PAGE_ORIGIN` and pass it as `origin`. */
export const PAGE_ORIGIN = 'http://localhost:3000';

/** The CSRF cookie's name: `__Host-tessera-csrf`, or `tessera-csrf` with COOKIE_SECURE=false. */
export const CSRF_COOKIE = '__Host-tessera-csrf';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

const UNSAFE: ReadonlySet<Method> = new Set(['post', 'put', 'patch', 'delete']);

/** A cookie held by the jar. */
interface JarCookie {
  name: string;
  value: string;
  path: string;
}

/** How a `CookieClient` behaves like a page of the site. */
export interface CookieClientOptions {
  /** Sent as `Origin` on unsafe requests (start the app with it in ALLOWED_ORIGINS); no `Origin` when omitted. */
  origin?: string;
  /** Name of the CSRF cookie; default `__Host-tessera-csrf`. */
  csrfCookie?: string;
}

/**
 * One browser talking to the demo app in cookie mode, on supertest. It keeps a cookie jar
 * (stores `Set-Cookie`, drops cleared or expired cookies, sends a cookie only under its
 * `Path`), and on POST/PUT/PATCH/DELETE does what the app's own page would: echo the CSRF
 * cookie in `X-CSRF-Token` (fetching one from `GET /auth/csrf` when the jar has none) and
 * send `Origin`. Headers the test sets itself are left alone.
 *
 * Not a browser: it ignores `Secure` (the tests speak plain http), `Domain`, `SameSite`, and
 * a `Max-Age` running out later (the app's clock is fake anyway; drop a cookie by hand).
 */
export class CookieClient {
  private readonly jar = new Map<string, JarCookie>();
  private readonly origin: string | undefined;
  private readonly csrfCookie: string;

  constructor(
    readonly url: string,
    options: CookieClientOptions = {},
  ) {
    this.origin = options.origin;
    this.csrfCookie = options.csrfCookie ?? CSRF_COOKIE;
  }

  get(path: string): Test {
    return this.request('get', path);
  }

  post(path: string): Test {
    return this.request('post', path);
  }

  put(path: string): Test {
    return this.request('put', path);
  }

  patch(path: string): Test {
    return this.request('patch', path);
  }

  delete(path: string): Test {
    return this.request('delete', path);
  }

  /** The CSRF token the jar holds, if any. */
  get csrfToken(): string | undefined {
    return this.cookie(this.csrfCookie);
  }

  /** Value of the jar's cookie `name` (any path). */
  cookie(name: string): string | undefined {
    return [...this.jar.values()].find((cookie) => cookie.name === name)?.value;
  }

  /** Names of the cookies in the jar, sorted. */
  cookieNames(): string[] {
    return [...this.jar.values()].map((cookie) => cookie.name).sort();
  }

  /** The `Cookie` header this browser would send to `path`. */
  cookieHeader(path = '/'): string {
    return [...this.jar.values()]
      .filter((cookie) => pathMatches(path, cookie.path))
      .map((cookie) => `${cookie.name}=${cookie.value}`)
      .join('; ');
  }

  /** Puts a cookie in the jar (replacing one of the same name and path). */
  setCookie(name: string, value: string, path = '/'): void {
    this.jar.set(`${name};${path}`, { name, value, path });
  }

  /** Drops every cookie called `name` (what the browser does when it expires). */
  deleteCookie(name: string): void {
    for (const [key, cookie] of this.jar) if (cookie.name === name) this.jar.delete(key);
  }

  /** Fetches a fresh token from `GET /auth/csrf` (the cookie lands in the jar) and returns it. */
  async fetchCsrfToken(): Promise<string> {
    const response = await this.get('/auth/csrf');
    const token = this.csrfToken;
    if (response.status !== 200 || !token) {
      throw new Error(`GET /auth/csrf answered ${response.status} and set no ${this.csrfCookie} cookie`);
    }
    return token;
  }

  private request(method: Method, path: string): Test {
    const test = request(this.url)[method](path);
    const send = test.end.bind(test);
    // Headers are chosen when the request goes out, not when it is built: by then the jar
    // may hold a CSRF token fetched on demand, or cookies from an earlier response.
    test.end = (callback?: CallbackHandler) => {
      this.prepare(method, path, test).then(
        () =>
          send((error, response) => {
            if (response) this.store(response);
            callback?.(error, response);
          }),
        (error: unknown) => callback?.(error, undefined as unknown as Response),
      );
      return test;
    };
    return test;
  }

  private async prepare(method: Method, path: string, test: Test): Promise<void> {
    if (UNSAFE.has(method)) {
      const token = this.csrfToken ?? (await this.fetchCsrfToken());
      if (test.get('X-CSRF-Token') === undefined) test.set('X-CSRF-Token', token);
      if (this.origin && test.get('Origin') === undefined) test.set('Origin', this.origin);
    }
    const cookies = this.cookieHeader(path);
    if (cookies && test.get('Cookie') === undefined) test.set('Cookie', cookies);
  }

  private store(response: Response): void {
    for (const cookie of parseSetCookies(response.headers['set-cookie'])) {
      // Every cookie of the app names its Path; RFC 6265's default-path is not needed.
      const path = typeof cookie.attributes.path === 'string' ? cookie.attributes.path : '/';
      const key = `${cookie.name};${path}`;
      if (isCleared(cookie.value, cookie.attributes)) this.jar.delete(key);
      else this.jar.set(key, { name: cookie.name, value: cookie.value, path });
    }
  }
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  const path = requestPath.split('?')[0] || '/';
  if (path === cookiePath) return true;
  return path.startsWith(cookiePath) && (cookiePath.endsWith('/') || path[cookiePath.length] === '/');
}

/** Whether a `Set-Cookie` deletes its cookie: empty, `Max-Age` ≤ 0, or `Expires` in the past. */
function isCleared(value: string, attributes: Record<string, string | true>): boolean {
  if (value === '') return true;
  const maxAge = attributes['max-age'];
  if (typeof maxAge === 'string') return Number(maxAge) <= 0;
  const expires = attributes.expires;
  return typeof expires === 'string' && Date.parse(expires) <= Date.now();
}
