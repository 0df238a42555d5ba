import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { httpRequestOf, httpResponseOf, principalCarrierOf } from './execution-context.util';

function contextOf(type: string, args: unknown[]): ExecutionContextHost {
  const context = new ExecutionContextHost(args);
  context.setType(type);
  return context;
}

describe('execution-context.util', () => {
  const request = { method: 'POST' };
  const response = { statusCode: 200 };

  it('reads an HTTP route’s request and response', () => {
    const context = contextOf('http', [request, response]);
    expect(httpRequestOf(context)).toBe(request);
    expect(httpResponseOf(context)).toBe(response);
    expect(principalCarrierOf(context)).toBe(request);
  });

  it('reads the request of a GraphQL resolver from each driver’s context shape', () => {
    const reply = { request, sent: false };
    // Apollo on Express (req, res), Apollo on Fastify (req, reply), Mercurius (reply only).
    for (const [graphql, expected] of [
      [{ req: request, res: response }, response],
      [{ req: request, reply }, reply],
      [{ request, reply }, reply],
      [{ reply }, reply],
    ] as const) {
      const context = contextOf('graphql', [{}, {}, graphql, { operation: { operation: 'query' } }]);
      expect(httpRequestOf(context)).toBe(request);
      expect(httpResponseOf(context)).toBe(expected);
      expect(principalCarrierOf(context)).toBe(request);
    }
  });

  it('finds no request where a GraphQL context has none (a subscription over a socket) or is not an object', () => {
    for (const graphql of [{ connectionParams: {} }, undefined, 'text', { req: 'text' }]) {
      const context = contextOf('graphql', [{}, {}, graphql, {}]);
      expect(httpRequestOf(context)).toBeUndefined();
      expect(principalCarrierOf(context)).toBeUndefined();
    }
  });

  it('carries a WebSocket message’s principal on its socket, and finds no HTTP request there', () => {
    const socket = { id: 'socket-1' };
    const context = contextOf('ws', [socket, { some: 'payload' }, 'message']);
    expect(principalCarrierOf(context)).toBe(socket);
    expect(httpRequestOf(context)).toBeUndefined();
    expect(httpResponseOf(context)).toBeUndefined();
  });

  it('finds nothing for other transports (RPC)', () => {
    const context = contextOf('rpc', [{ data: 1 }, {}]);
    expect(httpRequestOf(context)).toBeUndefined();
    expect(principalCarrierOf(context)).toBeUndefined();
  });
});
