import type { IncomingHttpHeaders } from 'node:http';
import type { SessionCookieAttributes, SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import { readCookie } from '../utils/cookie.util';

/**
 * What `ExpressHttpAdapter` reads of Express's `Request`. Declared here rather than
 * imported, so that the published types need no `express` types (a Fastify app type
 * checking its dependencies with `skipLibCheck: false` would otherwise fail); a spec
 * checks Express's own types still fit.
 */
export interface ExpressRequestLike {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly ip?: string;
  readonly protocol: string;
  readonly body?: unknown;
}

/** What `ExpressHttpAdapter` writes through of Express's `Response` (see `ExpressRequestLike`). */
export interface ExpressResponseLike {
  cookie(name: string, value: string, options: SessionCookieAttributes): unknown;
  clearCookie(name: string, options: SessionCookieAttributes): unknown;
  setHeader(name: string, value: string): unknown;
}

/**
 * `SessionHttpAdapter` for Express (Nest's default platform). Nothing of Express is
 * loaded (nor typed: see `ExpressRequestLike`), so the core imports no HTTP platform.
 */
export class ExpressHttpAdapter implements SessionHttpAdapter<ExpressRequestLike, ExpressResponseLike> {
  method(request: ExpressRequestLike): string {
    return request.method;
  }

  header(request: ExpressRequestLike, name: string): string | undefined {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  }

  // Parsed from the raw header (no cookie-parser): it must see a name sent twice.
  cookie(request: ExpressRequestLike, name: string): string | undefined {
    return readCookie(request.headers.cookie, name);
  }

  ip(request: ExpressRequestLike): string | undefined {
    return request.ip;
  }

  protocol(request: ExpressRequestLike): string {
    return request.protocol;
  }

  body(request: ExpressRequestLike): unknown {
    return request.body;
  }

  setCookie(response: ExpressResponseLike, name: string, value: string, attributes: SessionCookieAttributes): void {
    response.cookie(name, value, attributes);
  }

  clearCookie(response: ExpressResponseLike, name: string, attributes: SessionCookieAttributes): void {
    response.clearCookie(name, attributes);
  }

  setHeader(response: ExpressResponseLike, name: string, value: string): void {
    response.setHeader(name, value);
  }
}

/** The one `ExpressHttpAdapter` (it holds no state). */
export const expressHttpAdapter = new ExpressHttpAdapter();
