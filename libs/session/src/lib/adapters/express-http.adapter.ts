import type { Request, Response } from 'express';
import type { SessionCookieAttributes, SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import { readCookie } from '../utils/cookie.util';

/**
 * `SessionHttpAdapter` for Express (Nest's default platform). Types only are taken from
 * Express: nothing of it is loaded, so the core still imports no HTTP platform.
 */
export class ExpressHttpAdapter implements SessionHttpAdapter<Request, Response> {
  method(request: Request): string {
    return request.method;
  }

  header(request: Request, name: string): string | undefined {
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  }

  // Parsed from the raw header (no cookie-parser): it must see a name sent twice.
  cookie(request: Request, name: string): string | undefined {
    return readCookie(request.headers.cookie, name);
  }

  ip(request: Request): string | undefined {
    return request.ip;
  }

  protocol(request: Request): string {
    return request.protocol;
  }

  body(request: Request): unknown {
    return request.body;
  }

  setCookie(response: Response, name: string, value: string, attributes: SessionCookieAttributes): void {
    response.cookie(name, value, attributes);
  }

  clearCookie(response: Response, name: string, attributes: SessionCookieAttributes): void {
    response.clearCookie(name, attributes);
  }

  setHeader(response: Response, name: string, value: string): void {
    response.setHeader(name, value);
  }
}

/** The one `ExpressHttpAdapter` (it holds no state). */
export const expressHttpAdapter = new ExpressHttpAdapter();
