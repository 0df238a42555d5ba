import type { IncomingHttpHeaders } from 'node:http';
import type { SessionCookieAttributes, SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import { readCookie } from '../utils/cookie.util';
import { serializeClearedCookie, serializeCookie } from '../utils/set-cookie.util';

/**
 * What `FastifyHttpAdapter` reads of Fastify's `FastifyRequest`. Declared here rather than
 * imported, so that the published types need no `fastify` package (an Express app type
 * checking its dependencies with `skipLibCheck: false` would otherwise fail); a spec
 * checks Fastify's own types still fit.
 */
export interface FastifyRequestLike {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly ip: string;
  readonly protocol: string;
  readonly body: unknown;
}

/** What `FastifyHttpAdapter` writes through of Fastify's `FastifyReply` (see `FastifyRequestLike`). */
export interface FastifyReplyLike {
  header(key: string, value: string): unknown;
}

/**
 * `SessionHttpAdapter` for Fastify (`@nestjs/platform-fastify`). Nothing of Fastify is
 * loaded (nor typed: see `FastifyRequestLike`), and no `@fastify/cookie` is needed. Cookies are read
 * from the raw `Cookie` header and written as `Set-Cookie` strings the core serializes
 * itself, identical to what the Express adapter sends.
 */
export class FastifyHttpAdapter implements SessionHttpAdapter<FastifyRequestLike, FastifyReplyLike> {
  method(request: FastifyRequestLike): string {
    return request.method;
  }

  header(request: FastifyRequestLike, name: string): string | undefined {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  }

  // Parsed from the raw header (not @fastify/cookie's map): it must see a name sent twice.
  cookie(request: FastifyRequestLike, name: string): string | undefined {
    return readCookie(request.headers.cookie, name);
  }

  // Fastify applies its `trustProxy` option to both.
  ip(request: FastifyRequestLike): string | undefined {
    return request.ip;
  }

  protocol(request: FastifyRequestLike): string {
    return request.protocol;
  }

  body(request: FastifyRequestLike): unknown {
    return request.body;
  }

  // reply.header('set-cookie', ...) appends to the cookies already set (fastify/lib/reply.js).
  setCookie(reply: FastifyReplyLike, name: string, value: string, attributes: SessionCookieAttributes): void {
    reply.header('set-cookie', serializeCookie(name, value, attributes));
  }

  clearCookie(reply: FastifyReplyLike, name: string, attributes: SessionCookieAttributes): void {
    reply.header('set-cookie', serializeClearedCookie(name, attributes));
  }

  setHeader(reply: FastifyReplyLike, name: string, value: string): void {
    reply.header(name, value);
  }
}

/** The one `FastifyHttpAdapter` (it holds no state). */
export const fastifyHttpAdapter = new FastifyHttpAdapter();
