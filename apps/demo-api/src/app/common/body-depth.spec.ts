import { Logger } from '@nestjs/common';
import type { ArgumentsHost } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { MAX_BODY_DEPTH, bodyDepthMiddleware, isStackOverflow, nestedDeeperThan } from './body-depth';
import { bodyErrorsMiddleware } from './body-errors.middleware';
import { HttpExceptionFilter } from './http-exception.filter';

/** The filter as Nest builds it in an Express app (it writes through Nest's HTTP adapter). */
function expressFilter(): HttpExceptionFilter {
  const host = new HttpAdapterHost();
  host.httpAdapter = new ExpressAdapter();
  return new HttpExceptionFilter(host);
}

/** A real V8 stack overflow. */
function stackOverflow(): unknown {
  const recurse = (n: number): number => recurse(n + 1) + 1;
  try {
    recurse(0);
  } catch (error) {
    return error;
  }
  throw new Error('the stack did not overflow');
}

/** `depth` arrays nested in one another, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** A response that records what was sent. */
type FakeResponse = Response & { sent?: { status: number; body: unknown } };

function fakeResponse(): FakeResponse {
  let statusCode = 200;
  const response: Partial<FakeResponse> = {
    headersSent: false,
    status(code: number) {
      statusCode = code;
      return this as FakeResponse;
    },
    json(body: unknown) {
      response.sent = { status: statusCode, body };
      return this as FakeResponse;
    },
    getHeader: () => undefined,
  };
  return response as FakeResponse;
}

describe('finding 3: body depth guard and stack overflows', () => {
  beforeEach(() => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('measures nesting without recursing, stopping at the bound', () => {
    expect(nestedDeeperThan('text', 0)).toBe(false);
    expect(nestedDeeperThan(null, 0)).toBe(false);
    expect(nestedDeeperThan({}, 1)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan({ a: nested(MAX_BODY_DEPTH - 1) }, MAX_BODY_DEPTH)).toBe(false);
    expect(nestedDeeperThan({ a: 1, b: nested(MAX_BODY_DEPTH) }, MAX_BODY_DEPTH)).toBe(true);
    expect(nestedDeeperThan(nested(200_000), MAX_BODY_DEPTH)).toBe(true);
    expect(nestedDeeperThan(Array.from({ length: 50_000 }, () => ({ a: [1] })), MAX_BODY_DEPTH)).toBe(false);
  });

  it('hands a too-deep body to the body error middleware as 400 validation_failed naming `body`', () => {
    const next = jest.fn<void, [unknown?]>();
    bodyDepthMiddleware({ body: { a: nested(40) } } as Request, fakeResponse(), next as NextFunction);
    const [error] = next.mock.calls[0];
    const response = fakeResponse();
    bodyErrorsMiddleware(error, {} as Request, response, jest.fn());
    expect(response.sent).toEqual({
      status: 400,
      body: expect.objectContaining({ code: 'validation_failed', fields: ['body'] }),
    });

    const passed = jest.fn();
    bodyDepthMiddleware({ body: { email: 'a@example.com' } } as Request, fakeResponse(), passed);
    expect(passed).toHaveBeenCalledWith();
  });

  it('answers a stack overflow that escapes to the exception filter with 400 request_too_complex, not 500', () => {
    const overflow = stackOverflow();
    expect(isStackOverflow(overflow)).toBe(true);
    const response = fakeResponse();
    const host = { getType: () => 'http', switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
    expressFilter().catch(overflow, host);
    expect(response.sent).toEqual({ status: 400, body: expect.objectContaining({ code: 'request_too_complex' }) });
  });

  it('answers a stack overflow in the body middleware chain with 400 request_too_complex, not 500', () => {
    const response = fakeResponse();
    bodyErrorsMiddleware(stackOverflow(), {} as Request, response, jest.fn());
    expect(response.sent).toEqual({ status: 400, body: expect.objectContaining({ code: 'request_too_complex' }) });
  });

  it('still answers other errors with 500: a RangeError is not always the client’s doing', () => {
    const response = fakeResponse();
    const host = { getType: () => 'http', switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
    expressFilter().catch(new RangeError('Invalid array length'), host);
    expect(response.sent).toEqual({ status: 500, body: expect.objectContaining({ code: 'internal_error' }) });
  });
});
