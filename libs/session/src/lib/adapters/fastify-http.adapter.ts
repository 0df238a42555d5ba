import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionCookieAttributes, SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import { readCookie } from '../utils/cookie.util';
import { serializeClearedCookie, serializeCookie } from '../utils/set-cookie.util';

/**
 * `SessionHttpAdapter` for Fastify (`@nestjs/platform-fastify`). Types only are taken from
 * Fastify: nothing of it is loaded, and no `@fastify/cookie` is needed. Cookies are read
 * from the raw `Cookie` header and written as `Set-Cookie` strings the core serializes
 * itself, identical to what the Express adapter sends.
 */
export class FastifyHttpAdapter implements SessionHttpAdapter<FastifyRequest, FastifyReply> {
  method(request: FastifyRequest): string {
    return request.method;
  }

  header(request: FastifyRequest, name: string): string | undefined {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  }

  // Parsed from the raw header (not @fastify/cookie's map): it must see a name sent twice.
  cookie(request: FastifyRequest, name: string): string | undefined {
    return readCookie(request.headers.cookie, name);
  }

  // Fastify applies its `trustProxy` option to both.
  ip(request: FastifyRequest): string | undefined {
    return request.ip;
  }

  protocol(request: FastifyRequest): string {
    return request.protocol;
  }

  body(request: FastifyRequest): unknown {
    return request.body;
  }

  // reply.header('set-cookie', ...) appends to the cookies already set (fastify/lib/reply.js).
  setCookie(reply: FastifyReply, name: string, value: string, attributes: SessionCookieAttributes): void {
    reply.header('set-cookie', serializeCookie(name, value, attributes));
  }

  clearCookie(reply: FastifyReply, name: string, attributes: SessionCookieAttributes): void {
    reply.header('set-cookie', serializeClearedCookie(name, attributes));
  }

  setHeader(reply: FastifyReply, name: string, value: string): void {
    reply.header(name, value);
  }
}

/** The one `FastifyHttpAdapter` (it holds no state). */
export const fastifyHttpAdapter = new FastifyHttpAdapter();
