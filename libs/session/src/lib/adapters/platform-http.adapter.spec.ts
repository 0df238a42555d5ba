import { platformHttpAdapter as http } from './platform-http.adapter';

describe('PlatformHttpAdapter', () => {
  const attributes = { httpOnly: true, secure: false, sameSite: 'strict', path: '/auth' } as const;

  it("writes through Fastify's reply.header for a reply that wraps Node's response in raw", () => {
    const calls: unknown[][] = [];
    const reply = { raw: {}, header: (...args: unknown[]) => calls.push(args) };
    http.setCookie(reply, 'rt', 'v', attributes);
    http.clearCookie(reply, 'rt', attributes);
    http.setHeader(reply, 'Clear-Site-Data', '"cookies"');
    expect(calls).toEqual([
      ['set-cookie', 'rt=v; Path=/auth; HttpOnly; SameSite=Strict'],
      ['set-cookie', 'rt=; Path=/auth; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict'],
      ['Clear-Site-Data', '"cookies"'],
    ]);
  });

  it("writes through Express's response API for anything else", () => {
    const calls: unknown[][] = [];
    const response = {
      cookie: (...args: unknown[]) => calls.push(['cookie', ...args]),
      clearCookie: (...args: unknown[]) => calls.push(['clearCookie', ...args]),
      setHeader: (...args: unknown[]) => calls.push(['setHeader', ...args]),
    };
    http.setCookie(response, 'rt', 'v', attributes);
    http.clearCookie(response, 'rt', attributes);
    http.setHeader(response, 'Clear-Site-Data', '"cookies"');
    expect(calls).toEqual([
      ['cookie', 'rt', 'v', attributes],
      ['clearCookie', 'rt', attributes],
      ['setHeader', 'Clear-Site-Data', '"cookies"'],
    ]);
  });

  it('reads requests of either platform', () => {
    const headers = { cookie: 'a=1', 'user-agent': 'ua' };
    const fields = { method: 'GET', ip: '::1', protocol: 'http', body: undefined, headers };
    for (const req of [{ raw: {}, ...fields }, fields]) {
      expect([http.method(req), http.header(req, 'user-agent'), http.cookie(req, 'a'), http.ip(req), http.protocol(req)]).toEqual([
        'GET',
        'ua',
        '1',
        '::1',
        'http',
      ]);
    }
  });
});
