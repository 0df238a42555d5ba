import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';

/** Who is on the other end of the current request, for audit events. */
export interface RequestContext {
  ip: string | null;
  userAgent: string | null;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** The current request's context, when called while handling a request. */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Express middleware that makes the request's IP and user agent available to audit listeners. */
export function requestContextMiddleware(request: Request, _response: Response, next: NextFunction): void {
  const userAgent = request.headers['user-agent'];
  storage.run({ ip: request.ip ?? null, userAgent: typeof userAgent === 'string' ? userAgent.slice(0, 512) : null }, next);
}
