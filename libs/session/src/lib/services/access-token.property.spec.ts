import fc from 'fast-check';
import { createHash, createHmac } from 'node:crypto';
import type { TestingModule } from '@nestjs/testing';
import { AuthErrorCode } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { FakeClock } from '../../testing';
import { SessionClaimsError, checkedClaims } from '../utils/claims.util';
import { AccessTokenService } from './access-token.service';
import { compileSessionModule } from '../../../test/support/session-module';

// Property tests of the access-token parser: whatever a client puts in `Authorization`,
// `verify` answers with claims or a 401 `token_invalid` / `token_expired`, nothing else.
// A failure prints its seed and path: replay with `fc.assert(..., { seed, path })`.

const jwtSecret = 'access-token-property-jwt-secret-0123456789';
const sessionSecret = 'access-token-property-session-secret-01234';
const kid = createHash('sha256').update(jwtSecret).digest('base64url').slice(0, 12);
const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `header.payload` signed with HMAC-SHA256 under `secret` (the server's own by default). */
function signRaw(header: unknown, payload: unknown, secret = jwtSecret): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The code of the SessionUnauthorizedException `run` throws, `ok` when it returns; any other error fails. */
function outcome(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    if (!(error instanceof SessionUnauthorizedException)) throw error;
    expect(error.getStatus()).toBe(401);
    expect([AuthErrorCode.TokenInvalid, AuthErrorCode.TokenExpired]).toContain(error.code);
    return error.code;
  }
}

const base64urlText = fc.string({ unit: fc.constantFrom(...BASE64URL), maxLength: 120 });
// Text a client could send: any code units (lone surrogates, controls), dots, base64url, big.
const tokenLike = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 300 }),
  fc.array(base64urlText, { minLength: 0, maxLength: 5 }).map((parts) => parts.join('.')),
  fc.string({ unit: fc.constantFrom('.', '=', '+', '/', ' ', 'A', '_', '-', '\u0000'), maxLength: 60 }),
  fc.integer({ min: 8_000, max: 20_000 }).map((length) => 'a.b.'.padEnd(length, 'c')),
);

describe('AccessTokenService.verify (properties)', () => {
  let moduleRef: TestingModule;
  let clock: FakeClock;
  let tokens: AccessTokenService;
  const now = () => Math.floor(clock.now().getTime() / 1000);
  const goodClaims = (overrides: Record<string, unknown> = {}) => ({
    iss: 'tessera', aud: 'tessera', sub: 'user-1', sid: 'AAAAAAAAAAAAAAAAAAAAAA', jti: 'j', iat: now(), exp: now() + 600, roles: ['user'],
    ...overrides,
  });
  const goodHeader = { alg: 'HS256', typ: 'at+jwt', kid };

  beforeAll(async () => {
    ({ moduleRef, clock } = await compileSessionModule({ jwtSecret, sessionSecret }));
    tokens = moduleRef.get(AccessTokenService);
  });

  afterAll(() => moduleRef.close());

  it('answers arbitrary text with token_invalid, never another error', () => {
    fc.assert(
      fc.property(tokenLike, (token) => {
        expect(outcome(() => tokens.verify(token))).toBe(AuthErrorCode.TokenInvalid);
      }),
      { numRuns: 500 },
    );
  });

  it('answers any JSON header and payload signed with the right key with claims or a 401, never another error', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 4 }), (header, payload) => {
        expect(outcome(() => tokens.verify(signRaw(header, payload)))).toBe(AuthErrorCode.TokenInvalid);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses near-misses of a good header (alg none, other algs, wrong typ, unknown kid, key-choosing parameters)', () => {
    const header = fc.record(
      {
        alg: fc.constantFrom('none', 'None', 'NONE', 'HS256', 'hs256', 'HS384', 'HS512', 'RS256', 'EdDSA', '', undefined, null, 0),
        typ: fc.constantFrom('at+jwt', 'JWT', 'AT+JWT', 'application/at+jwt', 'at+jwt ', '', undefined, null, ['at+jwt']),
        kid: fc.constantFrom(kid, kid.toUpperCase(), `${kid} `, '', '../../etc/passwd', undefined, null, [kid], 1),
        jku: fc.constantFrom(undefined, 'https://attacker.example/jwks'),
        jwk: fc.constantFrom(undefined, { kty: 'oct', k: b64(jwtSecret) }),
        crit: fc.constantFrom(undefined, ['exp']),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(header, fc.boolean(), (candidate, emptySignature) => {
        const token = signRaw(candidate, goodClaims());
        const sent = emptySignature ? `${token.slice(0, token.lastIndexOf('.'))}.` : token;
        const acceptable =
          !emptySignature &&
          candidate.alg === 'HS256' && candidate.typ === 'at+jwt' && candidate.kid === kid &&
          // JSON.stringify drops undefined members, so `{ jku: undefined }` is no jku at all.
          candidate.jku === undefined && candidate.jwk === undefined && candidate.crit === undefined;
        expect(outcome(() => tokens.verify(sent))).toBe(acceptable ? 'ok' : AuthErrorCode.TokenInvalid);
      }),
      { numRuns: 400 },
    );
  });

  it('refuses a good token with any one character changed, removed or added', () => {
    const token = signRaw(goodHeader, goodClaims());
    expect(outcome(() => tokens.verify(token))).toBe('ok');
    const edit = fc.record({
      at: fc.nat({ max: token.length - 1 }),
      kind: fc.constantFrom('replace', 'remove', 'insert'),
      char: fc.oneof(fc.constantFrom(...BASE64URL, '.', '=', ' '), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
    });
    fc.assert(
      fc.property(edit, ({ at, kind, char }) => {
        const changed =
          kind === 'remove' ? token.slice(0, at) + token.slice(at + 1)
          : kind === 'insert' ? token.slice(0, at) + char + token.slice(at)
          : token.slice(0, at) + char + token.slice(at + 1);
        fc.pre(changed !== token);
        expect(outcome(() => tokens.verify(changed))).toBe(AuthErrorCode.TokenInvalid);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses base64url edge cases of a good token: padding, standard alphabet, whitespace, non-canonical last character', () => {
    const token = signRaw(goodHeader, goodClaims());
    const [h, p, s] = token.split('.');
    const variants = fc.constantFrom(
      `${h}=.${p}.${s}`, `${h}.${p}=.${s}`, `${h}.${p}.${s}=`, ` ${token}`, `${token} `, `${token}\n`,
      `${h}.${p}.${s.replace(/-/g, '+').replace(/_/g, '/')}`,
      `${h}.${p}.${s.slice(0, -1)}${BASE64URL[BASE64URL.indexOf(s[s.length - 1]) ^ 1]}`,
      `${h}.${p}.${s}.`, `.${token}`, `${h}..${s}`, `${h}.${p}`, `${token}.${s}`,
      `${b64({ ...goodHeader, alg: 'none' })}.${p}.`, `${b64({ ...goodHeader, alg: 'none' })}.${p}`,
    );
    fc.assert(
      fc.property(variants, (variant) => {
        expect(outcome(() => tokens.verify(variant))).toBe(AuthErrorCode.TokenInvalid);
      }),
    );
  });

  it('answers near-misses of good claims with claims or a 401 consistent with their shapes', () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(undefined));
    const overrides = fc.record(
      { iss: value, aud: value, sub: value, sid: value, jti: value, iat: value, exp: value, nbf: value, roles: value },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(overrides, (changes) => {
        const claims = goodClaims(changes);
        const result = outcome(() => tokens.verify(signRaw(goodHeader, claims)));
        if (result === 'ok') {
          expect(claims.iss).toBe('tessera');
          expect(typeof claims.sub === 'string' && claims.sub !== '').toBe(true);
          expect(Array.isArray(claims.roles)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });

  // Found by the property below (seed 684104351, path "88:0:0:0:0:1:63"): jsonwebtoken's sign,
  // then used for HS256, threw a TypeError on a claim named like a member of Object.prototype.
  it.each(['valueOf', 'toString', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__'])(
    'signs and verifies a custom claim named %p',
    (name) => {
      const verified = tokens.verify(tokens.sign({ userId: 'u', sessionId: 's', roles: [], claims: checkedClaims({ [name]: [] }) }).token);
      expect(tokens.customClaims(verified)).toEqual({ [name]: [] });
    },
  );

  it('verifies every token it signs, with the subject and custom claims it was given', () => {
    const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
    const claims = fc
      .dictionary(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 })
      .map((value) => {
        try {
          return checkedClaims(value);
        } catch (error) {
          if (error instanceof SessionClaimsError) return undefined;
          throw error;
        }
      });
    fc.assert(
      fc.property(text, text, fc.array(text, { maxLength: 5 }), claims, (userId, sessionId, roles, custom) => {
        fc.pre(custom !== undefined);
        const { token, expiresAt } = tokens.sign({ userId, sessionId, roles, claims: custom });
        const verified = tokens.verify(token);
        expect(verified).toMatchObject({ sub: userId, sid: sessionId, roles });
        expect(expiresAt.getTime()).toBe(verified.exp * 1000);
        expect(tokens.customClaims(verified)).toEqual(custom ?? {});
      }),
      { numRuns: 200 },
    );
  });
});

describe('checkedClaims (properties)', () => {
  it('returns JSON-equal claims or throws SessionClaimsError, whatever it is given', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.jsonValue())), (value) => {
        let result: unknown;
        try {
          result = checkedClaims(value);
        } catch (error) {
          if (error instanceof SessionClaimsError) return;
          throw error;
        }
        // What it returns is accepted again, unchanged: claims survive a store round trip.
        expect(checkedClaims(result)).toEqual(result);
        expect(JSON.parse(JSON.stringify(result))).toEqual(result);
      }),
      { numRuns: 500 },
    );
  });
});
