import fc from 'fast-check';
import type { TestingModule } from '@nestjs/testing';
import type { CookieOptions, Response } from 'express';
import { CsrfService } from './csrf.service';
import { compileSessionModule } from '../../../test/support/session-module';

// Property tests of the CSRF token check (a failure prints its seed and path; replay with
// `fc.assert(..., { seed, path })`).

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const binding = fc.option(fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 22, maxLength: 22 }), { nil: undefined });

describe('CsrfService.isValid (properties)', () => {
  let moduleRef: TestingModule;
  let csrf: CsrfService;

  /** A token minted by the service, as the cookie it sets carries it. */
  const mint = (sessionId: string | undefined): string => {
    const response = { cookie: (_n: string, _v: string, _o: CookieOptions) => undefined } as unknown as Response;
    return csrf.issue(response, sessionId);
  };

  beforeAll(async () => {
    ({ moduleRef } = await compileSessionModule({
      jwtSecret: 'csrf-property-jwt-secret-0123456789-abcdef',
      sessionSecret: 'csrf-property-session-secret-0123456789-ab',
    }));
    csrf = moduleRef.get(CsrfService);
  });

  afterAll(() => moduleRef.close());

  it('answers false, never a throw, for anything a client sends in X-CSRF-Token', () => {
    const header = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.tuple(fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 30 }), fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 50 })).map(
        ([a, b]) => `${a}.${b}`,
      ),
      fc.integer({ min: 10_000, max: 100_000 }).map((length) => '.'.repeat(length)),
    );
    fc.assert(
      fc.property(header, binding, (token, sessionId) => {
        expect(csrf.isValid(token, sessionId)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts a token it minted only for its own binding, and never with one character changed', () => {
    const edit = fc.record({ at: fc.nat({ max: 100 }), char: fc.constantFrom(...BASE64URL, '.', '=', ' ', '\u0000') });
    fc.assert(
      fc.property(binding, binding, edit, (sessionId, other, { at, char }) => {
        const token = mint(sessionId);
        expect(csrf.isValid(token, sessionId)).toBe(true);
        expect(csrf.isValid(token, other)).toBe(other === sessionId);
        const index = at % token.length;
        const changed = token.slice(0, index) + char + token.slice(index + 1);
        fc.pre(changed !== token);
        expect(csrf.isValid(changed, sessionId)).toBe(false);
        expect(csrf.isValid(` ${token}`, sessionId)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
