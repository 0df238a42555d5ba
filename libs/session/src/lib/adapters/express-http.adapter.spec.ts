import type { Request, Response } from 'express';
import { SESSION_REQUEST_KEY } from '../constants';
import type { SessionPrincipal } from '../interfaces/authenticated.interface';
import { DuplicateCookieError } from '../utils/cookie.util';
import { attachPrincipal, sessionContextOf, sessionOf } from '../utils/session-request.util';
import { ExpressHttpAdapter, expressHttpAdapter as http } from './express-http.adapter';
import type { ExpressRequestLike, ExpressResponseLike } from './express-http.adapter';

// Express's own types fit the adapter's (this file would not compile otherwise).
const fitsRequest: (request: Request) => ExpressRequestLike = (request) => request;
const fitsResponse: (response: Response) => ExpressResponseLike = (response) => response;
void [fitsRequest, fitsResponse];

const request = (fields: Record<string, unknown>): Request => fields as unknown as Request;

describe('ExpressHttpAdapter', () => {
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

  it('reads method, ip, protocol and body as Express resolved them', () => {
    const body = { refreshToken: 'x' };
    const req = request({ method: 'POST', ip: '203.0.113.7', protocol: 'https', body, headers: {} });
    expect([http.method(req), http.ip(req), http.protocol(req), http.body(req)]).toEqual(['POST', '203.0.113.7', 'https', body]);
  });

  it('writes cookies and headers through the response', () => {
    const calls: unknown[][] = [];
    const response = {
      cookie: (...args: unknown[]) => calls.push(['cookie', ...args]),
      clearCookie: (...args: unknown[]) => calls.push(['clearCookie', ...args]),
      setHeader: (...args: unknown[]) => calls.push(['setHeader', ...args]),
    } as unknown as Response;
    const attributes = { httpOnly: true, secure: true, sameSite: 'lax', path: '/' } as const;
    http.setCookie(response, 'n', 'v', { ...attributes, maxAge: 1000 });
    http.clearCookie(response, 'n', attributes);
    http.setHeader(response, 'Cache-Control', 'no-store');
    expect(calls).toEqual([
      ['cookie', 'n', 'v', { ...attributes, maxAge: 1000 }],
      ['clearCookie', 'n', attributes],
      ['setHeader', 'Cache-Control', 'no-store'],
    ]);
  });
});

describe('sessionOf and attachPrincipal', () => {
  it('reads back the session put on the request, and nothing from a request without one', () => {
    const principal: SessionPrincipal = {
      user: { id: 'user-1', roles: [], claims: {} },
      session: { id: 's', userId: 'user-1', transport: 'cookie', accessTokenExpiresAt: new Date(0), tokenId: 'j', authenticatedAt: null },
    };
    const req: Record<string, unknown> = {};
    expect(sessionOf(req)).toBeUndefined();
    attachPrincipal(req, principal);
    expect(sessionOf(req)).toBe(principal.session);
    expect(req.user).toBe(principal.user);
    expect(req[SESSION_REQUEST_KEY]).toBe(principal.session);
  });
});

describe('sessionContextOf', () => {
  it('reads the client through the adapter it is given', () => {
    const req = request({ ip: '::1', headers: { 'user-agent': 'curl/8' } });
    expect(sessionContextOf(req)).toEqual({ ip: '::1', userAgent: 'curl/8' });
    class OtherAdapter extends ExpressHttpAdapter {
      override ip(): string {
        return '198.51.100.1';
      }
      override header(): undefined {
        return undefined;
      }
    }
    expect(sessionContextOf(req, new OtherAdapter())).toEqual({ ip: '198.51.100.1', userAgent: null });
  });
});
