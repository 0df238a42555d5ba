import fc from 'fast-check';
import { createSecretKey } from 'node:crypto';
import { RefreshTokenChain, claimedSessionIdOf } from './refresh-token-chain';

// Property tests of the refresh-token parser (a failure prints its seed and path; replay
// with `fc.assert(..., { seed, path })`).

const chain = new RefreshTokenChain(createSecretKey(Buffer.from('refresh-token-property-key-0123456789abcdef')), 0);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const sessionId = fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 22, maxLength: 22 });
const generation = fc.integer({ min: 0, max: 999_999_998 });

describe('RefreshTokenChain.verify (properties)', () => {
  it('answers anything a client sends with undefined (never a throw) unless it is a token it minted', () => {
    const anything = fc.oneof(
      fc.anything(),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.array(fc.string({ unit: fc.constantFrom(...BASE64URL, '=', '+', '/'), maxLength: 50 }), { maxLength: 6 }).map((parts) => parts.join('.')),
      fc.integer({ min: 10_000, max: 100_000 }).map((length) => 'A'.repeat(22).padEnd(length, '.0')),
    );
    fc.assert(
      fc.property(anything, (value) => {
        expect(chain.verify(value)).toBeUndefined();
        if (typeof value === 'string') claimedSessionIdOf(value);
      }),
      { numRuns: 500 },
    );
  });

  it('verifies what it mints and the successors of it, and nothing with one character changed', () => {
    const edit = fc.record({ at: fc.nat({ max: 200 }), char: fc.constantFrom(...BASE64URL, '.', '=', ' ', '\u0000', 'é') });
    fc.assert(
      fc.property(sessionId, generation, edit, (id, gen, { at, char }) => {
        const minted = chain.mint(id, gen);
        expect(chain.verify(minted.token)).toEqual(minted);
        expect(claimedSessionIdOf(minted.token)).toBe(id);
        const next = chain.successorOf(minted);
        expect(chain.verify(next.token)).toEqual({ ...next, generation: gen + 1 });
        const index = at % minted.token.length;
        const changed = minted.token.slice(0, index) + char + minted.token.slice(index + 1);
        fc.pre(changed !== minted.token);
        expect(chain.verify(changed)).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a minted token with a non-canonical generation (leading zeros, sign, exponent)', () => {
    fc.assert(
      fc.property(sessionId, generation, fc.constantFrom('0', '+', '-', ' ', 'e0'), (id, gen, extra) => {
        const [sid, digits, seed, mac] = chain.mint(id, gen).token.split('.');
        const spelled = extra === 'e0' ? `${digits}e0` : `${extra}${digits}`;
        expect(chain.verify(`${sid}.${spelled}.${seed}.${mac}`)).toBeUndefined();
      }),
    );
  });
});
