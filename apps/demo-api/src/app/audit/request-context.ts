import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

/** Who is on the other end of the current request, for audit events. */
export interface RequestContext {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

const MAX_USER_AGENT = 512;

/**
 * Read from the request only when an audit event asks: most requests emit none, and
 * `request.ip` runs Express's trust-proxy logic on every read.
 */
class LazyRequestContext implements RequestContext {
  constructor(private readonly request: Request) {}

  get ip(): string | null {
    return this.request.ip ?? null;
  }

  get userAgent(): string | null {
    const userAgent = this.request.headers['user-agent'];
    return typeof userAgent === 'string' ? userAgent.slice(0, MAX_USER_AGENT) : null;
  }
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The current request's context, when called while handling a request. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Express middleware that makes the request's IP and user agent available to audit listeners. */
export function requestContextMiddleware(request: Request, _response: Response, next: NextFunction): void {
  storage.run(new LazyRequestContext(request), next);
}
