import type { SecurityHeadersOptions } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/app-config';

/**
 * Options of `app.useSecurityHeaders()`: helmet's defaults (nosniff, frame options, a
 * strict CSP that Swagger UI's external scripts and inline styles satisfy, ...). With
 * COOKIE_SECURE=false the app is served over plain http on purpose, so the CSP does not
 * ask browsers to upgrade the page's requests to https (Safari does so even on localhost,
 * which would break /docs).
 */
export function securityHeadersOptions(config: AppConfig): SecurityHeadersOptions {
  return config.cookieSecure ? {} : { contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } };
}

/**
 * CORS for ALLOWED_ORIGINS, with credentials. The methods are listed because the two
 * platforms' defaults differ (Express's `cors`: every method the API uses; `@fastify/cors`:
 * GET, HEAD and POST only, which would fail a browser's preflight for DELETE and PUT), as
 * one string since the two join a list differently.
 */
export function corsOptions(config: AppConfig): { origin: string[]; credentials: true; methods: string } {
  return { origin: config.allowedOrigins, credentials: true, methods: 'GET,HEAD,PUT,PATCH,POST,DELETE' };
}

/** Public, unchanging paths that may be cached: the Swagger UI, its assets and the OpenAPI document. */
function cacheable(path: string): boolean {
  return path === '/docs' || path.startsWith('/docs/') || path === '/docs-json';
}

/**
 * `Cache-Control: no-store` on every response but the docs, set before anything else
 * runs so that errors, 404s and routes added later get it too: nearly every answer of
 * this API carries a token or personal data, and a list of exceptions is safer than a
 * list of routes to protect (OWASP ASVS 5.0 V14.3.2). A handler may still override it (the
 * demo page and its hashed assets do: they carry nothing personal).
 */
export function noStoreMiddleware(req: Request, res: Response, next: NextFunction): void {
  if (!cacheable(req.path)) res.setHeader('Cache-Control', 'no-store');
  next();
}

/** `noStoreMiddleware` for Fastify: an `onRequest` hook, so it runs before routing, parsing and errors alike. */
export function noStoreHook(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const query = request.url.indexOf('?');
  if (!cacheable(query === -1 ? request.url : request.url.slice(0, query))) reply.header('Cache-Control', 'no-store');
  done();
}
