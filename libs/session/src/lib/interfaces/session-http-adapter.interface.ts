/** A request of the HTTP platform the app runs on (Express's `Request`, Fastify's `FastifyRequest`, ...). */
export type HttpRequest = object;
/** A response of the HTTP platform (Express's `Response`, Fastify's `FastifyReply`, ...). */
export type HttpResponse = object;

/** Attributes of a cookie Tessera sets or clears (`maxAge` in milliseconds, as Express takes it). */
export interface SessionCookieAttributes {
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'lax' | 'strict';
  path: string;
  /** Lifetime in milliseconds; absent for a session cookie (and when clearing). */
  maxAge?: number;
}

/**
 * Everything Tessera reads from a request and writes to a response, so that services
 * and guards never touch a platform's own API: one implementation per HTTP platform.
 * Stateless: every method takes the request or response it works on, so the hot path
 * allocates nothing for it. Pass another one as the module's `http` option.
 */
export interface SessionHttpAdapter<TRequest extends HttpRequest = HttpRequest, TResponse extends HttpResponse = HttpResponse> {
  /** The request method, upper case as the platform reports it (`GET`, `POST`, ...). */
  method(request: TRequest): string;
  /** The value of a request header (`name` lower case); undefined when absent or not a single string. */
  header(request: TRequest, name: string): string | undefined;
  /**
   * The value of a request cookie; undefined when absent or malformed. Must throw
   * `DuplicateCookieError` when the `Cookie` header carries the name twice (so read the
   * raw header, not a parsed map that keeps one of them).
   */
  cookie(request: TRequest, name: string): string | undefined;
  /** The client address as the platform resolved it (trusted proxies applied), if known. */
  ip(request: TRequest): string | undefined;
  /** `http` or `https`, as the platform resolved it (trusted proxies applied). */
  protocol(request: TRequest): string;
  /** The parsed request body, if any. */
  body(request: TRequest): unknown;
  /** Adds a `Set-Cookie` for `name`. */
  setCookie(response: TResponse, name: string, value: string, attributes: SessionCookieAttributes): void;
  /** Adds a `Set-Cookie` that expires `name` (same path and flags it was set with). */
  clearCookie(response: TResponse, name: string, attributes: SessionCookieAttributes): void;
  /** Sets a response header, replacing any earlier value. */
  setHeader(response: TResponse, name: string, value: string): void;
}

/** Injection token of the module's `SessionHttpAdapter` (by default `PlatformHttpAdapter`: Express's or Fastify's, per request). */
export const SessionHttpAdapter = Symbol('SessionHttpAdapter');
