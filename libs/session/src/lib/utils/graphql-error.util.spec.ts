import { NotFoundException } from '@nestjs/common';
import { GraphQLError } from 'graphql';
import { SessionStoreUnavailableError } from '../exceptions/session-store-unavailable.error';
import { SessionValidationException } from '../exceptions/session-validation.exception';
import { sessionGraphqlFormatError } from './graphql-error.util';

const where = { locations: [{ line: 1, column: 3 }], path: ['field'] };

/** What graphql-js hands `formatError` for a thrown value: a located error wrapping it. */
function located(thrown: Error): GraphQLError {
  return new GraphQLError(thrown.message, { originalError: thrown, path: where.path });
}

describe('sessionGraphqlFormatError', () => {
  it('gives a plain HttpException the code of its status, and walks wrapped errors', () => {
    const wrapped = new GraphQLError('outer', { originalError: located(new NotFoundException()) });
    expect(sessionGraphqlFormatError({ message: 'x', ...where, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, wrapped)).toEqual({
      message: 'Not Found',
      ...where,
      extensions: { code: 'not_found', status: 404 },
    });
  });

  it('keeps the fields of a validation_failed and joins its messages', () => {
    const error = located(new SessionValidationException(['a must be a string', 'b is required'], ['a', 'b']));
    expect(sessionGraphqlFormatError({ message: 'x' }, error)).toEqual({
      message: 'a must be a string; b is required',
      extensions: { code: 'validation_failed', status: 400, fields: ['a', 'b'] },
    });
  });

  it('turns a store error from a resolver into store_unavailable with retryAfter', () => {
    const error = located(new SessionStoreUnavailableError('connect ECONNREFUSED 10.0.0.1:5432'));
    const formatted = sessionGraphqlFormatError({ message: 'connect ECONNREFUSED 10.0.0.1:5432' }, error);
    expect(formatted).toEqual({ message: expect.not.stringContaining('ECONNREFUSED'), extensions: { code: 'store_unavailable', status: 503, retryAfter: 2 } });
  });

  it("passes a GraphQLError the app threw, and the server's own errors, without stacktrace", () => {
    const own = new GraphQLError('Pick a smaller page', { extensions: { code: 'BAD_USER_INPUT' } });
    const formatted = { message: 'Pick a smaller page', ...where, extensions: { code: 'BAD_USER_INPUT', stacktrace: ['GraphQLError: ...'] } };
    expect(sessionGraphqlFormatError(formatted, located(own))).toEqual({ message: 'Pick a smaller page', ...where, extensions: { code: 'BAD_USER_INPUT' } });
    const syntax = new GraphQLError('Syntax Error: Expected Name, found <EOF>.');
    expect(sessionGraphqlFormatError({ message: syntax.message, extensions: { code: 'GRAPHQL_PARSE_FAILED', stacktrace: [] } }, syntax)).toEqual({
      message: syntax.message,
      extensions: { code: 'GRAPHQL_PARSE_FAILED' },
    });
  });

  it('masks anything else a resolver threw, and survives a cyclic chain', () => {
    const cyclic = new Error('select password_hash') as Error & { originalError?: unknown };
    cyclic.originalError = cyclic;
    expect(sessionGraphqlFormatError({ message: 'select password_hash', ...where }, located(cyclic))).toEqual({
      message: 'Internal server error',
      ...where,
      extensions: { code: 'internal_error', status: 500 },
    });
  });
});
