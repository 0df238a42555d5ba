import type { FastifyReply, FastifyRequest } from 'fastify';
import { DuplicateCookieError } from '../utils/cookie.util';
import { fastifyHttpAdapter as http } from './fastify-http.adapter';
import type { FastifyReplyLike, FastifyRequestLike } from './fastify-http.adapter';

// Fastify's own types fit the adapter's (this file would not compile otherwise).
const fitsRequest: (request: FastifyRequest) => FastifyRequestLike = (request) => request;
const fitsReply: (reply: FastifyReply) => FastifyReplyLike = (reply) => reply;
void [fitsRequest, fitsReply];

const request = (fields: Record<string, unknown>): FastifyRequest => fields as unknown as FastifyRequest;

describe('FastifyHttpAdapter', () => {
  it('reads single-valued headers only', () => {
    const req = request({ headers: { origin: 'https://a.example', 'x-csrf-token': ['a', 'b'] } });
    expect(http.header(req, 'origin')).toBe('https://a.example');
    expect(http.header(req, 'x-csrf-token')).toBeUndefined();
    expect(http.header(req, 'referer')).toBeUndefined();
  });

  it('reads a cookie from the raw header and refuses one sent twice', () => {
    expect(http.cookie(request({ headers: { cookie: 'a=1; b=2' } }), 'b')).toBe('2');
    expect(http.cookie(request({ headers: {} }), 'b')).toBeUndefined();
    expect(() => http.cookie(request({ headers: { cookie: 'b=1; b=2' } }), 'b')).toThrow(DuplicateCookieError);
  });

  it('reads method, ip, protocol and body as Fastify resolved them', () => {
    const body = { refreshToken: 'x' };
    const req = request({ method: 'POST', ip: '203.0.113.7', protocol: 'https', body, headers: {} });
    expect([http.method(req), http.ip(req), http.protocol(req), http.body(req)]).toEqual(['POST', '203.0.113.7', 'https', body]);
  });

  it('adds serialized Set-Cookie headers and sets other headers through reply.header', () => {
    const calls: unknown[][] = [];
    const reply = { header: (...args: unknown[]) => calls.push(args) } as unknown as FastifyReply;
    const attributes = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' } as const;
    http.setCookie(reply, 'n', 'v', attributes);
    http.clearCookie(reply, 'n', attributes);
    http.setHeader(reply, 'Cache-Control', 'no-store');
    expect(calls).toEqual([
      ['set-cookie', 'n=v; Path=/; HttpOnly; Secure; SameSite=Lax'],
      ['set-cookie', 'n=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax'],
      ['Cache-Control', 'no-store'],
    ]);
  });
});
