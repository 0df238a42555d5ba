import type { FastifyRequest } from 'fastify';
import { BODY_TOO_DEEP, MAX_BODY_DEPTH } from './body-depth';
import { bodyErrorReply } from './body-errors.middleware';
import { parseFormBody, parseJsonBody } from './fastify-body-parsers';

const request = (contentType: string): FastifyRequest => ({ headers: { 'content-type': contentType } }) as unknown as FastifyRequest;
const json = (body: string | Buffer, contentType = 'application/json') =>
  parseJsonBody(request(contentType), Buffer.isBuffer(body) ? body : Buffer.from(body));

/** What the error a parser throws is answered with (status and code), as `HttpExceptionFilter` answers it. */
function refusal(parse: () => unknown): { status: number; code: string } {
  try {
    parse();
  } catch (error) {
    const { status, body } = bodyErrorReply(error);
    return { status, code: body.code };
  }
  throw new Error('the body was accepted');
}

describe('Fastify body parsers (as body-parser reads bodies on Express)', () => {
  it('reads JSON objects and arrays, an empty body as {}, in any utf-* charset', () => {
    expect(json('{"email":"a@example.com"}')).toEqual({ email: 'a@example.com' });
    expect(json(' \n[1,2]')).toEqual([1, 2]);
    expect(json('')).toEqual({});
    expect(json(Buffer.from('{"a":"é"}', 'utf16le'), 'application/json; charset=UTF-16LE')).toEqual({ a: 'é' });
    expect(json('{"a":1}', 'application/json; charset="utf-8"')).toEqual({ a: 1 });
  });

  it('refuses what body-parser refuses, with the same answers', () => {
    for (const body of ['{"email":', '"hello"', 'null', '1']) {
      expect(refusal(() => json(body))).toEqual({ status: 400, code: 'invalid_json' });
    }
    expect(refusal(() => json('{}', 'application/json; charset=klingon'))).toEqual({ status: 415, code: 'unsupported_media_type' });
    expect(refusal(() => json('{}', 'application/json; charset=latin1'))).toEqual({ status: 415, code: 'unsupported_media_type' });
  });

  it('refuses a body nested past MAX_BODY_DEPTH as validation_failed naming `body`', () => {
    expect(json(`${'['.repeat(MAX_BODY_DEPTH)}${']'.repeat(MAX_BODY_DEPTH)}`)).toHaveLength(1);
    const deep = `${'['.repeat(MAX_BODY_DEPTH + 1)}${']'.repeat(MAX_BODY_DEPTH + 1)}`;
    expect(() => json(deep)).toThrow(expect.objectContaining({ type: BODY_TOO_DEEP, status: 400 }));
    expect(refusal(() => json(deep))).toEqual({ status: 400, code: 'validation_failed' });
  });

  it('reads flat form bodies into a plain object, and refuses more than 1000 fields or another charset', () => {
    const form = (body: string, contentType = 'application/x-www-form-urlencoded') => parseFormBody(request(contentType), Buffer.from(body));
    const parsed = form('email=a%40example.com&roles=a&roles=b&x[y]=1');
    expect(parsed).toEqual({ email: 'a@example.com', roles: ['a', 'b'], 'x[y]': '1' });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(form('')).toEqual({});
    // As qs: `+` is a space, a malformed escape stays as sent, a `__proto__` key is dropped.
    expect(form('a=x+y&b=%E9&__proto__=1')).toEqual({ a: 'x y', b: '%E9' });
    expect(Object.keys(form('__proto__=1') as object)).toEqual([]);
    expect(refusal(() => form(Array.from({ length: 1001 }, (_, i) => `f${i}=1`).join('&')))).toEqual({ status: 413, code: 'payload_too_large' });
    expect(refusal(() => form('a=1', 'application/x-www-form-urlencoded; charset=klingon'))).toEqual({ status: 415, code: 'unsupported_media_type' });
  });
});
