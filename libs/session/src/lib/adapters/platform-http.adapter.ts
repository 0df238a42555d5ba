import type { HttpRequest, HttpResponse, SessionCookieAttributes, SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import { expressHttpAdapter } from './express-http.adapter';
import { fastifyHttpAdapter } from './fastify-http.adapter';

/**
 * Whether a request or response is Fastify's: its `FastifyRequest` and `FastifyReply` wrap
 * Node's objects under `raw`, whereas Express's are Node's `IncomingMessage` and
 * `ServerResponse` themselves (which have no `raw`). A structural check, so nothing of
 * either platform is loaded.
 */
function isFastify(target: object): boolean {
  return (target as { raw?: unknown }).raw !== undefined;
}

/**
 * The module's default `SessionHttpAdapter`: Fastify's for Fastify requests and replies,
 * Express's for anything else. Decided on each call rather than once at boot, because
 * `Test.createTestingModule(...).compile()` builds the providers before the app (and so
 * the HTTP platform) exists; the check is one property read, and on a Fastify request
 * `raw` is an own property (on Express's, a miss V8's inline cache answers as fast).
 */
export class PlatformHttpAdapter implements SessionHttpAdapter {
  method(request: HttpRequest): string {
    return isFastify(request) ? fastifyHttpAdapter.method(request as never) : expressHttpAdapter.method(request as never);
  }

  header(request: HttpRequest, name: string): string | undefined {
    return isFastify(request) ? fastifyHttpAdapter.header(request as never, name) : expressHttpAdapter.header(request as never, name);
  }

  cookie(request: HttpRequest, name: string): string | undefined {
    return isFastify(request) ? fastifyHttpAdapter.cookie(request as never, name) : expressHttpAdapter.cookie(request as never, name);
  }

  ip(request: HttpRequest): string | undefined {
    return isFastify(request) ? fastifyHttpAdapter.ip(request as never) : expressHttpAdapter.ip(request as never);
  }

  protocol(request: HttpRequest): string {
    return isFastify(request) ? fastifyHttpAdapter.protocol(request as never) : expressHttpAdapter.protocol(request as never);
  }

  body(request: HttpRequest): unknown {
    return isFastify(request) ? fastifyHttpAdapter.body(request as never) : expressHttpAdapter.body(request as never);
  }

  setCookie(response: HttpResponse, name: string, value: string, attributes: SessionCookieAttributes): void {
    if (isFastify(response)) fastifyHttpAdapter.setCookie(response as never, name, value, attributes);
    else expressHttpAdapter.setCookie(response as never, name, value, attributes);
  }

  clearCookie(response: HttpResponse, name: string, attributes: SessionCookieAttributes): void {
    if (isFastify(response)) fastifyHttpAdapter.clearCookie(response as never, name, attributes);
    else expressHttpAdapter.clearCookie(response as never, name, attributes);
  }

  setHeader(response: HttpResponse, name: string, value: string): void {
    if (isFastify(response)) fastifyHttpAdapter.setHeader(response as never, name, value);
    else expressHttpAdapter.setHeader(response as never, name, value);
  }
}

/** The one `PlatformHttpAdapter` (it holds no state): the module's default. */
export const platformHttpAdapter = new PlatformHttpAdapter();
