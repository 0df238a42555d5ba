import type { IncomingHttpHeaders } from 'node:http';

/** What handlers read from a request; Express's `Request` and Fastify's `FastifyRequest` both have it. */
export interface DemoRequest {
  /** The client address, trusted proxies (TRUST_PROXY) applied by the platform. */
  readonly ip?: string;
  readonly headers: IncomingHttpHeaders;
}

/** What handlers change on a response; Express's `Response` and Fastify's `FastifyReply` both have it. */
export interface DemoResponse {
  status(code: number): unknown;
  header(name: string, value: string): unknown;
}
