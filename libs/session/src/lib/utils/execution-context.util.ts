import type { ExecutionContext } from '@nestjs/common';
import type { HttpRequest, HttpResponse } from '../interfaces/session-http-adapter.interface';

/**
 * What a GraphQL server hands resolvers as their context (argument 2): Nest's Apollo
 * driver always puts the HTTP request at `req` (Express's, or Fastify's through
 * `@as-integrations/fastify`); apps add the response as `res` (Express) or `reply`
 * (Fastify); Mercurius passes Fastify's `reply` (and the request as `reply.request`). Read structurally, so the core loads no
 * GraphQL code.
 */
interface GraphqlContext {
  req?: HttpRequest;
  request?: HttpRequest;
  res?: HttpResponse;
  reply?: HttpResponse & { request?: HttpRequest };
}

function graphqlContext(context: ExecutionContext): GraphqlContext | undefined {
  const value: unknown = context.getArgByIndex(2);
  return typeof value === 'object' && value !== null ? (value as GraphqlContext) : undefined;
}

/**
 * The HTTP request behind an execution context: the request of an HTTP route, or the one
 * that carried a GraphQL operation; undefined for other transports (WebSockets, RPC) and
 * for GraphQL operations without one (subscriptions over a socket).
 */
export function httpRequestOf(context: ExecutionContext): HttpRequest | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getRequest<HttpRequest>();
  if (type !== 'graphql') return undefined;
  const graphql = graphqlContext(context);
  const request = graphql?.req ?? graphql?.request ?? graphql?.reply?.request;
  return typeof request === 'object' && request !== null ? request : undefined;
}

/** The HTTP response behind an execution context, when the transport has one (see `httpRequestOf`). */
export function httpResponseOf(context: ExecutionContext): HttpResponse | undefined {
  const type = context.getType<string>();
  if (type === 'http') return context.switchToHttp().getResponse<HttpResponse>();
  if (type !== 'graphql') return undefined;
  const graphql = graphqlContext(context);
  // Nest's Apollo driver puts only `req` in the default context; Express links the
  // request to its response (`req.res`), so Express apps need no context function.
  // Fastify's request has no such link: pass the reply in the context (see the README).
  const request = graphql?.req ?? graphql?.request;
  const response = graphql?.res ?? graphql?.reply ?? (request as { res?: HttpResponse } | undefined)?.res;
  return typeof response === 'object' && response !== null ? response : undefined;
}

/**
 * Where `SessionGuard` keeps the principal of an execution context, and the decorators
 * find it: the HTTP request (HTTP routes and GraphQL resolvers), or the socket of a
 * WebSocket message (authenticated once, at its handshake).
 */
export function principalCarrierOf(context: ExecutionContext): object | undefined {
  if (context.getType<string>() === 'ws') {
    const client: unknown = context.switchToWs().getClient();
    return typeof client === 'object' && client !== null ? client : undefined;
  }
  return httpRequestOf(context);
}
