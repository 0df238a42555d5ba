/**
 * What the demo's resolvers get as their GraphQL context: the HTTP request, and its
 * response as the platform has it (`res`: Express's; `reply`: Fastify's), so that the
 * library's `SessionGuard`, `CsrfGuard` and `SessionEndpoints` can read the request and
 * set cookies and headers on the answer.
 */
export interface DemoGraphqlContext {
  req: object;
  res?: object;
  reply?: object;
}

/**
 * Apollo's `context` function on both platforms: `@as-integrations/express5` calls it with
 * `{ req, res }` (kept as is), `@as-integrations/fastify` with `(request, reply)`.
 */
export function demoGraphqlContext(first: object, reply?: object): DemoGraphqlContext {
  return reply ? { req: first, reply } : (first as DemoGraphqlContext);
}

/** The response of a resolver's request (Express's `res` or Fastify's `reply`). */
export function responseOf(context: DemoGraphqlContext): object {
  const response = context.res ?? context.reply;
  // Both integrations always provide one; a context without it is a wiring bug, not a client's.
  if (!response) throw new Error('The GraphQL context has no HTTP response (see demoGraphqlContext)');
  return response;
}
