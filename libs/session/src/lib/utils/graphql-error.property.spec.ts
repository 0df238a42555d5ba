import { HttpException } from '@nestjs/common';
import fc from 'fast-check';
import { sessionGraphqlFormatError } from './graphql-error.util';

// Property tests of the GraphQL error formatting (a failure prints its seed and path;
// replay with `fc.assert(..., { seed, path })`).

const located = fc.record(
  {
    message: fc.string(),
    locations: fc.array(fc.record({ line: fc.nat(), column: fc.nat() }), { maxLength: 2 }),
    path: fc.array(fc.oneof(fc.string(), fc.nat()), { maxLength: 3 }),
    extensions: fc.dictionary(fc.constantFrom('code', 'stacktrace', 'exception', 'other'), fc.jsonValue({ maxDepth: 2 })),
  },
  { requiredKeys: ['message'] },
);

/** What a resolver or guard may throw, wrapped in zero or more `originalError` layers (cyclic ones too). */
const thrown = fc.oneof(
  fc.anything(),
  fc.tuple(fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 2 })), fc.integer({ min: 100, max: 599 })).map(([body, status]) => new HttpException(body as string, status)),
  fc.string().map((message) => Object.assign(new Error(message), { name: 'GraphQLError' })),
  fc.string().map((message) => new Error(`${message} at Object.<anonymous> (/app/src/secret.ts:1:1)`)),
);
const wrapped = fc.tuple(thrown, fc.nat({ max: 12 }), fc.boolean()).map(([error, depth, cyclic]) => {
  let current: unknown = error;
  for (let i = 0; i < depth; i++) current = { name: 'GraphQLError', originalError: current };
  if (cyclic && typeof current === 'object' && current !== null) {
    const loop = { originalError: current } as { originalError: unknown };
    (current as { originalError?: unknown }).originalError ??= loop;
  }
  return current;
});

describe('sessionGraphqlFormatError (properties)', () => {
  it('answers any error with a string message, a string code when it names one, and never a stack trace', () => {
    fc.assert(
      fc.property(located, wrapped, (formatted, error) => {
        const result = sessionGraphqlFormatError(formatted, error);
        expect(typeof result.message).toBe('string');
        expect(result.extensions?.stacktrace).toBeUndefined();
        expect(result.extensions?.exception).toBeUndefined();
        if (result.extensions && 'status' in result.extensions) {
          expect(typeof result.extensions.code).toBe('string');
          expect(Number.isInteger(result.extensions.status)).toBe(true);
        }
        // An error the resolver threw (not one the server made) never shows its text: it may quote internals.
        expect(JSON.stringify(result)).not.toContain('/app/src/secret.ts');
      }),
      { numRuns: 500 },
    );
  });
});
