import type { TestingModule } from '@nestjs/testing';
import jsonwebtoken from 'jsonwebtoken';
import type { JwtHeader, JwtPayload } from 'jsonwebtoken';
import { createHash, createHmac, createPublicKey, generateKeyPairSync, sign as signBytes, verify as verifyBytes } from 'node:crypto';
import type { JsonWebKey, KeyObject } from 'node:crypto';
import { FakeClock } from '../../testing';
import { withJose } from '@tessera/testing-support';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface';
import { AccessTokenService } from './access-token.service';
import { START, compileSessionModule } from '../../../test/support/session-module';
import type { TestSessionOptions } from '../../../test/support/session-module';

const jwtSecret = 'access-token-spec-jwt-secret-0123456789';
const sessionSecret = 'access-token-spec-session-secret-012345';
const otherSecret = 'an-attacker-chosen-secret-0123456789abcdef';
const kid = createHash('sha256').update(jwtSecret).digest('base64url').slice(0, 12);
const START_S = START.getTime() / 1000;

const subject = { userId: 'user-42', sessionId: 'AAAAAAAAAAAAAAAAAAAAAA', roles: ['user', 'editor'] };

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs an arbitrary header/payload with jsonwebtoken, as an attacker or another issuer would. */
function forge(
  payload: Record<string, unknown>,
  header: Partial<JwtHeader> & Record<string, unknown> = {},
  secret: string = jwtSecret,
): string {
  return jsonwebtoken.sign(payload, secret, {
    algorithm: 'HS256',
    header: { alg: 'HS256', typ: 'at+jwt', kid, ...header } as JwtHeader,
  });
}

/** Signs header.payload with HMAC-SHA256 by hand, for claims jsonwebtoken.sign refuses to produce. */
function forgeRaw(payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const signingInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid, ...header })}.${b64(payload)}`;
  return `${signingInput}.${createHmac('sha256', jwtSecret).update(signingInput).digest('base64url')}`;
}

/** Claims exactly as the service would sign them at START. */
function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: 'tessera',
    aud: 'tessera',
    sub: subject.userId,
    sid: subject.sessionId,
    jti: 'forged-jti-0000000000',
    iat: START_S,
    exp: START_S + 600,
    roles: ['user'],
    ...overrides,
  };
}

/** The token with one character in the middle of its signature changed. */
function alterSignature(token: string): string {
  const at = token.lastIndexOf('.') + 10;
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

/** `header.payload.HMAC-SHA256(secret)`, built by hand. */
function signHs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** `header.payload.Ed25519(privateKey)`, built by hand. */
function signEd25519(header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signBytes(null, Buffer.from(input), privateKey).toString('base64url')}`;
}

function decodeSegment(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** RFC 7638 thumbprint of an Ed25519 public key, by hand. */
function thumbprint(publicKey: KeyObject): string {
  const { x } = publicKey.export({ format: 'jwk' });
  return createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x })).digest('base64url');
}


/** jose's verdict on a token against a JWKS document: its header and claims, or its error code. */
type JoseVerdict = { ok: true; header: Record<string, unknown>; payload: Record<string, unknown> } | { ok: false; code: string };

const JOSE_VERIFY = `
  const jwks = jose.createLocalJWKSet(input.jwks);
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(input.token, jwks, {
      issuer: input.issuer, audience: input.audience, typ: 'at+jwt', algorithms: ['EdDSA'], currentDate: new Date(input.now),
    });
    return { ok: true, header: protectedHeader, payload };
  } catch (error) {
    return { ok: false, code: error.code ?? error.name };
  }`;

function failureCode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SessionUnauthorizedException);
    const failure = error as SessionUnauthorizedException;
    expect(failure.getStatus()).toBe(401);
    return failure.code;
  }
  throw new Error('expected a SessionUnauthorizedException');
}

describe('AccessTokenService', () => {
  let moduleRef: TestingModule;
  let clock: FakeClock;
  let tokens: AccessTokenService;

  async function boot(extra: Partial<TestSessionOptions> = {}): Promise<void> {
    ({ moduleRef, clock } = await compileSessionModule({ jwtSecret, sessionSecret, ...extra }));
    tokens = moduleRef.get(AccessTokenService);
  }

  beforeEach(() => boot());

  afterEach(() => moduleRef.close());

  describe('sign', () => {
    it('writes a header with typ at+jwt, the kid and alg HS256, and nothing else', () => {
      const { token } = tokens.sign(subject);
      const decoded = jsonwebtoken.decode(token, { complete: true });
      expect(decoded?.header).toEqual({ alg: 'HS256', typ: 'at+jwt', kid });
    });

    it('writes exactly iss, aud, sub, sid, jti, iat, exp and roles', () => {
      const { token, expiresAt } = tokens.sign({ ...subject, email: 'someone@example.com' } as typeof subject);
      const payload = jsonwebtoken.decode(token) as JwtPayload;
      expect(Object.keys(payload).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'roles', 'sid', 'sub']);
      expect(payload).toEqual({
        iss: 'tessera',
        aud: 'tessera',
        sub: 'user-42',
        sid: 'AAAAAAAAAAAAAAAAAAAAAA',
        jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        iat: START_S,
        exp: START_S + 600,
        roles: ['user', 'editor'],
      });
      expect(JSON.stringify(payload)).not.toMatch(/email|someone@example\.com/);
      expect(expiresAt).toEqual(new Date('2030-01-01T00:10:00.000Z'));
    });

    it('signs with the jwtSecret (verifiable by jsonwebtoken with that key only)', () => {
      const { token } = tokens.sign(subject);
      expect(() => jsonwebtoken.verify(token, jwtSecret, { algorithms: ['HS256'] })).not.toThrow();
      expect(() => jsonwebtoken.verify(token, sessionSecret, { algorithms: ['HS256'] })).toThrow('invalid signature');
    });

    it('gives every token a fresh jti', () => {
      const first = jsonwebtoken.decode(tokens.sign(subject).token) as JwtPayload;
      const second = jsonwebtoken.decode(tokens.sign(subject).token) as JwtPayload;
      expect(first.jti).not.toBe(second.jti);
    });

    it('takes iat and exp from the injected clock, ttl, issuer and audience from the options', async () => {
      await moduleRef.close();
      await boot({ accessTokenTtl: '90s', issuer: 'https://auth.example', audience: 'api://orders', jwtKeyId: 'k1' });
      clock.set('2031-06-15T12:00:00.750Z');
      const { token, expiresAt } = tokens.sign(subject);
      const decoded = jsonwebtoken.decode(token, { complete: true });
      const payload = decoded?.payload as JwtPayload;
      const iat = Date.parse('2031-06-15T12:00:00Z') / 1000;
      expect(decoded?.header.kid).toBe('k1');
      expect(payload.iss).toBe('https://auth.example');
      expect(payload.aud).toBe('api://orders');
      expect(payload.iat).toBe(iat);
      expect(payload.exp).toBe(iat + 90);
      expect(expiresAt).toEqual(new Date((iat + 90) * 1000));
    });

    it('copies the roles, so later changes to the caller’s array do not leak in', () => {
      const roles = ['user'];
      const { token } = tokens.sign({ ...subject, roles });
      roles.push('admin');
      expect((jsonwebtoken.decode(token) as JwtPayload).roles).toEqual(['user']);
    });
  });

  describe('verify', () => {
    it('round-trips the claims it signed', () => {
      const { token } = tokens.sign(subject);
      expect(tokens.verify(token)).toEqual(jsonwebtoken.decode(token));
      expect(tokens.verify(token).sub).toBe('user-42');
      expect(tokens.verify(token).sid).toBe(subject.sessionId);
    });

    it('accepts a well-formed token signed by hand with the right key (control for the forgeries below)', () => {
      expect(tokens.verify(forge(claims()))).toEqual(claims());
    });

    it('stays valid until exp plus the 5s skew, then fails with token_expired', () => {
      const { token } = tokens.sign(subject);
      clock.advance(600_000 + 5_000 - 1);
      expect(tokens.verify(token).sub).toBe('user-42');
      clock.advance(1);
      expect(failureCode(() => tokens.verify(token))).toBe('token_expired');
      clock.advance(3_600_000);
      expect(failureCode(() => tokens.verify(token))).toBe('token_expired');
    });

    it('expires exactly at exp when clockSkew is 0', async () => {
      await moduleRef.close();
      await boot({ clockSkew: 0 });
      const { token } = tokens.sign(subject);
      clock.advance(600_000 - 1);
      expect(tokens.verify(token).sub).toBe('user-42');
      clock.advance(1);
      expect(failureCode(() => tokens.verify(token))).toBe('token_expired');
    });

    it('refuses a token whose payload was tampered with', () => {
      const [header, , signature] = tokens.sign(subject).token.split('.');
      const payload = b64({ ...claims(), roles: ['admin'] });
      expect(failureCode(() => tokens.verify(`${header}.${payload}.${signature}`))).toBe('token_invalid');
    });

    it('refuses a token whose signature was altered', () => {
      const token = tokens.sign(subject).token;
      // A character inside the segment: all its 6 bits are signature bits. (Changing the
      // last character may touch only the 2 padding bits of a 32-byte signature, which
      // decode to the same bytes: that made this test fail once in 16 runs.)
      expect(failureCode(() => tokens.verify(alterSignature(token)))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(token.slice(0, token.lastIndexOf('.') + 1)))).toBe('token_invalid');
    });

    it('refuses a token signed with another secret', () => {
      expect(failureCode(() => tokens.verify(forge(claims(), {}, otherSecret)))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(forge(claims(), {}, sessionSecret)))).toBe('token_invalid');
    });

    it('refuses an unsigned alg:none token', () => {
      const unsigned = `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64(claims())}.`;
      expect(failureCode(() => tokens.verify(unsigned))).toBe('token_invalid');
      const noneSigned = jsonwebtoken.sign(claims(), '', { algorithm: 'none', header: { alg: 'none', typ: 'at+jwt', kid } });
      expect(failureCode(() => tokens.verify(noneSigned))).toBe('token_invalid');
    });

    it('refuses a token signed with another HMAC algorithm and the same key', () => {
      const hs512 = jsonwebtoken.sign(claims(), jwtSecret, { algorithm: 'HS512', header: { alg: 'HS512', typ: 'at+jwt', kid } });
      expect(failureCode(() => tokens.verify(hs512))).toBe('token_invalid');
    });

    it('refuses typ JWT (or no typ) even with the right key and kid', () => {
      expect(failureCode(() => tokens.verify(forge(claims(), { typ: 'JWT' })))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(forge(claims(), { typ: undefined })))).toBe('token_invalid');
    });

    it('refuses an unknown or missing kid', () => {
      expect(failureCode(() => tokens.verify(forge(claims(), { kid: 'someone-else' })))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(forge(claims(), { kid: undefined })))).toBe('token_invalid');
    });

    it('refuses a wrong issuer or audience', () => {
      expect(failureCode(() => tokens.verify(forge(claims({ iss: 'evil' }))))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(forge(claims({ aud: 'another-api' }))))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(forge(claims({ iss: undefined }))))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(forge(claims({ aud: undefined }))))).toBe('token_invalid');
    });

    it.each([
      ['jku', 'https://evil.example/keys.json'],
      ['jwk', { kty: 'oct', k: Buffer.from(jwtSecret).toString('base64url') }],
      ['x5u', 'https://evil.example/cert.pem'],
      ['x5c', ['MIIB']],
    ])('refuses a token carrying a %s header', (name, value) => {
      expect(failureCode(() => tokens.verify(forge(claims(), { [name]: value })))).toBe('token_invalid');
    });

    it('refuses an iat in the future beyond the skew, accepts one within it', () => {
      expect(tokens.verify(forge(claims({ iat: START_S + 5 }))).iat).toBe(START_S + 5);
      expect(failureCode(() => tokens.verify(forge(claims({ iat: START_S + 6 }))))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(forge(claims({ iat: START_S + 3600, exp: START_S + 7200 }))))).toBe(
        'token_invalid',
      );
    });

    it('refuses an nbf in the future beyond the skew', () => {
      expect(tokens.verify(forge(claims({ nbf: START_S + 5 }))).sub).toBe('user-42');
      expect(failureCode(() => tokens.verify(forge(claims({ nbf: START_S + 6 }))))).toBe('token_invalid');
    });

    it('accepts a hand-made HMAC token (control for forgeRaw)', () => {
      expect(tokens.verify(forgeRaw(claims())).jti).toBe('forged-jti-0000000000');
    });

    it.each([
      ['no sub', { sub: undefined }],
      ['an empty sub', { sub: '' }],
      ['no sid', { sid: undefined }],
      ['no jti', { jti: undefined }],
      ['no exp', { exp: undefined }],
      ['no iat', { iat: undefined }],
      ['exp before iat', { exp: START_S - 1 }],
      ['roles that are not an array', { roles: 'admin' }],
      ['a non-string role', { roles: ['user', 1] }],
      ['no roles', { roles: undefined }],
      ['a string exp', { exp: String(START_S + 600) }],
    ])('refuses a token with %s', (_label, overrides) => {
      expect(failureCode(() => tokens.verify(forgeRaw(claims(overrides))))).toBe('token_invalid');
    });

    it.each(['', 'garbage', 'a.b.c', '.x.y', 'e30.e30.', `${b64('string-header')}.${b64(claims())}.sig`])(
      'refuses the non-token %p',
      (token) => {
        expect(failureCode(() => tokens.verify(token))).toBe('token_invalid');
      },
    );
  });
  describe('signature encoding', () => {
    it('accepts only the canonical base64url form of the signature', () => {
      const { token } = tokens.sign(subject);
      const [header, payload, signature] = token.split('.');
      // A 32-byte HMAC is 43 characters; the last carries 2 unused bits. Setting them
      // decodes to the same bytes, but is another token string: refused.
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(signature[signature.length - 1]);
      const variants = [1, 2, 3].map((bits) => `${signature.slice(0, -1)}${alphabet[last ^ bits]}`);
      for (const variant of variants) {
        expect(Buffer.from(variant, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
        expect(() => tokens.verify(`${header}.${payload}.${variant}`)).toThrow(SessionUnauthorizedException);
      }
      expect(tokens.verify(token).sub).toBe(subject.userId);
    });
  });

  describe('verified-token cache', () => {
    it('answers a token it verified before with the same frozen claims', () => {
      const { token } = tokens.sign(subject);
      const first = tokens.verify(token);
      expect(tokens.verifiedTokenCount).toBe(1);
      expect(tokens.verify(token)).toBe(first);
      expect(Object.isFrozen(first)).toBe(true);
      expect(Object.isFrozen(first.roles)).toBe(true);
      expect(tokens.verifiedTokenCount).toBe(1);
    });

    it('still checks expiry on a remembered token, and forgets it once expired', () => {
      const { token } = tokens.sign(subject);
      tokens.verify(token);
      clock.advance(600_000 + 5_000);
      expect(failureCode(() => tokens.verify(token))).toBe('token_expired');
      expect(tokens.verifiedTokenCount).toBe(0);
      expect(failureCode(() => tokens.verify(token))).toBe('token_expired');
    });

    it('refuses altered copies of a remembered token and never remembers a token that failed', () => {
      const { token } = tokens.sign(subject);
      tokens.verify(token);
      const [header, , signature] = token.split('.');
      expect(failureCode(() => tokens.verify(alterSignature(token)))).toBe('token_invalid');
      expect(failureCode(() => tokens.verify(`${header}.${b64({ ...claims(), roles: ['admin'] })}.${signature}`))).toBe(
        'token_invalid',
      );
      expect(failureCode(() => tokens.verify(`${token} `))).toBe('token_invalid');
      for (let i = 0; i < 50; i++) {
        expect(failureCode(() => tokens.verify(forge(claims({ jti: `forged-${i}` }), {}, otherSecret)))).toBe('token_invalid');
      }
      expect(tokens.verifiedTokenCount).toBe(1);
    });

    it('keeps at most verifiedTokenCacheSize tokens, dropping the oldest, which still verify in full', async () => {
      await moduleRef.close();
      await boot({ verifiedTokenCacheSize: 3 });
      const issued = Array.from({ length: 5 }, () => tokens.sign(subject).token);
      const first = tokens.verify(issued[0]);
      for (const token of issued.slice(1)) tokens.verify(token);
      expect(tokens.verifiedTokenCount).toBe(3);
      const again = tokens.verify(issued[0]);
      expect(again).not.toBe(first);
      expect(again).toEqual(first);
      expect(tokens.verifiedTokenCount).toBe(3);
    });

    it('remembers nothing with verifiedTokenCacheSize 0', async () => {
      await moduleRef.close();
      await boot({ verifiedTokenCacheSize: 0 });
      const { token } = tokens.sign(subject);
      const first = tokens.verify(token);
      expect(tokens.verify(token)).not.toBe(first);
      expect(tokens.verifiedTokenCount).toBe(0);
      clock.advance(600_000 + 5_000);
      expect(failureCode(() => tokens.verify(token))).toBe('token_expired');
    });
  });

  describe('key ring', () => {
    const ringSecret = 'access-token-spec-ring-hs256-key-0123456789';
    const ed = generateKeyPairSync('ed25519');
    const edOld = generateKeyPairSync('ed25519');
    const attacker = generateKeyPairSync('ed25519');
    const edKid = thumbprint(ed.publicKey);
    const edPublicPem = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const edPrivatePem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const edJwk = ed.publicKey.export({ format: 'jwk' });
    const header = (extra: Record<string, unknown> = {}) => ({ typ: 'at+jwt', ...extra });

    /** Restarts the module with this ring (no jwtSecret unless the ring names it). */
    async function rebootWith(keys: SessionModuleOptions['keys'], extra: Partial<TestSessionOptions> = {}): Promise<void> {
      await moduleRef.close();
      await boot({ jwtSecret: undefined, keys, ...extra });
    }

    describe('HS256 rotation', () => {
      const newKey = { kid: 'k-new', algorithm: 'HS256' as const, secret: ringSecret };
      const oldKey = { kid: 'k-old', algorithm: 'HS256' as const, secret: jwtSecret };

      it('signs with the active (first) key and verifies its own tokens', async () => {
        await rebootWith([newKey, oldKey]);
        const { token } = tokens.sign(subject);
        expect(decodeSegment(token, 0)).toEqual({ alg: 'HS256', typ: 'at+jwt', kid: 'k-new' });
        expect(tokens.verify(token).sub).toBe('user-42');
        expect(() => jsonwebtoken.verify(token, ringSecret, { algorithms: ['HS256'] })).not.toThrow();
        expect(() => jsonwebtoken.verify(token, jwtSecret, { algorithms: ['HS256'] })).toThrow('invalid signature');
      });

      it('signs with the key activeKeyId names', async () => {
        await rebootWith([newKey, oldKey], { activeKeyId: 'k-old' });
        expect(decodeSegment(tokens.sign(subject).token, 0).kid).toBe('k-old');
      });

      it('verifies a token of a non-active key while it is in the ring, and refuses it once the key is retired', async () => {
        await rebootWith([oldKey]);
        const issuedBeforeRotation = tokens.sign(subject).token;
        expect(decodeSegment(issuedBeforeRotation, 0).kid).toBe('k-old');

        await rebootWith([newKey, oldKey]);
        expect(tokens.verify(issuedBeforeRotation).jti).toBe(decodeSegment(issuedBeforeRotation, 1).jti);
        expect(tokens.verify(signHs256(header({ alg: 'HS256', kid: 'k-old' }), claims(), jwtSecret)).sub).toBe('user-42');
        const issuedAfterRotation = tokens.sign(subject).token;

        await rebootWith([newKey]);
        expect(failureCode(() => tokens.verify(issuedBeforeRotation))).toBe('token_invalid');
        expect(failureCode(() => tokens.verify(signHs256(header({ alg: 'HS256', kid: 'k-old' }), claims(), jwtSecret)))).toBe(
          'token_invalid',
        );
        // Control: the key that stayed still verifies.
        expect(tokens.verify(issuedAfterRotation).sub).toBe('user-42');
      });

      it('binds each kid to its own key: a ring key cannot sign under another key’s kid', async () => {
        await rebootWith([newKey, oldKey]);
        expect(failureCode(() => tokens.verify(signHs256(header({ alg: 'HS256', kid: 'k-new' }), claims(), jwtSecret)))).toBe(
          'token_invalid',
        );
        expect(failureCode(() => tokens.verify(signHs256(header({ alg: 'HS256', kid: 'k-old' }), claims(), ringSecret)))).toBe(
          'token_invalid',
        );
      });

      it('refuses a retired key even when its token names the kid of a key still in the ring', async () => {
        await rebootWith([newKey]);
        expect(failureCode(() => tokens.verify(signHs256(header({ alg: 'HS256', kid: 'k-new' }), claims(), jwtSecret)))).toBe(
          'token_invalid',
        );
      });
    });

    describe('refused headers', () => {
      beforeEach(() => rebootWith([{ algorithm: 'EdDSA', privateKey: edPrivatePem }, { algorithm: 'HS256', secret: jwtSecret }]));

      it('accepts hand-made tokens of both keys (control for the forgeries below)', () => {
        expect(tokens.verify(signEd25519(header({ alg: 'EdDSA', kid: edKid }), claims(), ed.privateKey))).toEqual(claims());
        expect(tokens.verify(signHs256(header({ alg: 'HS256', kid }), claims(), jwtSecret))).toEqual(claims());
      });

      it.each([
        ['an empty signature', ''],
        ['a garbage signature', Buffer.from('garbage').toString('base64url')],
      ])('refuses alg none with a valid kid and %s', (_label, signature) => {
        for (const [alg, keyId] of [
          ['none', kid],
          ['none', edKid],
          ['None', kid],
          ['NONE', edKid],
        ]) {
          const token = `${b64(header({ alg, kid: keyId }))}.${b64(claims())}.${signature}`;
          expect(failureCode(() => tokens.verify(token))).toBe('token_invalid');
        }
      });

      it('refuses alg none even under a valid signature of the key its kid names', () => {
        // Signed over the alg:none header itself, so only the alg check can refuse them.
        expect(failureCode(() => tokens.verify(signHs256(header({ alg: 'none', kid }), claims(), jwtSecret)))).toBe('token_invalid');
        expect(failureCode(() => tokens.verify(signEd25519(header({ alg: 'none', kid: edKid }), claims(), ed.privateKey)))).toBe(
          'token_invalid',
        );
      });

      it('refuses a kid that is not in the ring, even over a signature by a ring key', () => {
        for (const keyId of ['k-unknown', '__proto__', 'constructor', 'toString', '']) {
          expect(failureCode(() => tokens.verify(signHs256(header({ alg: 'HS256', kid: keyId }), claims(), jwtSecret)))).toBe(
            'token_invalid',
          );
          expect(failureCode(() => tokens.verify(signEd25519(header({ alg: 'EdDSA', kid: keyId }), claims(), ed.privateKey)))).toBe(
            'token_invalid',
          );
        }
        expect(failureCode(() => tokens.verify(signHs256(header({ alg: 'HS256', kid: 'k-unknown' }), claims(), otherSecret)))).toBe(
          'token_invalid',
        );
        expect(failureCode(() => tokens.verify(signHs256(header({ alg: 'HS256', kid: 42 }), claims(), jwtSecret)))).toBe(
          'token_invalid',
        );
      });

      it.each([
        ['its PEM', edPublicPem],
        ['its PEM without the final newline', edPublicPem.trim()],
        ['its raw 32 bytes', Buffer.from(String(edJwk.x), 'base64url')],
        ['its SPKI DER', ed.publicKey.export({ type: 'spki', format: 'der' })],
        ['its JWK as JSON', JSON.stringify(edJwk)],
      ])('refuses an HS256 token under the Ed25519 kid HMACed with the public key (%s) as secret', (_label, secret) => {
        expect(secret.length).toBeGreaterThanOrEqual(32);
        const forged = signHs256(header({ alg: 'HS256', kid: edKid }), claims({ roles: ['admin'] }), secret);
        expect(failureCode(() => tokens.verify(forged))).toBe('token_invalid');
      });

      it('refuses an EdDSA token under the HS256 kid', () => {
        const forged = signEd25519(header({ alg: 'EdDSA', kid }), claims(), attacker.privateKey);
        expect(failureCode(() => tokens.verify(forged))).toBe('token_invalid');
        expect(failureCode(() => tokens.verify(signEd25519(header({ alg: 'EdDSA', kid }), claims(), ed.privateKey)))).toBe(
          'token_invalid',
        );
      });

      it('refuses an EdDSA token under the Ed25519 kid signed by another Ed25519 key', () => {
        const forged = signEd25519(header({ alg: 'EdDSA', kid: edKid }), claims(), attacker.privateKey);
        expect(failureCode(() => tokens.verify(forged))).toBe('token_invalid');
        expect(failureCode(() => tokens.verify(alterSignature(tokens.sign(subject).token)))).toBe('token_invalid');
      });

      it('refuses an EdDSA token with typ JWT or without typ', () => {
        for (const typ of ['JWT', undefined]) {
          const token = signEd25519({ alg: 'EdDSA', kid: edKid, typ }, claims(), ed.privateKey);
          expect(failureCode(() => tokens.verify(token))).toBe('token_invalid');
        }
      });

      it.each([
        ['jku', 'https://evil.example/jwks.json'],
        ['jwk', attacker.publicKey.export({ format: 'jwk' })],
        ['x5u', 'https://evil.example/cert.pem'],
        ['x5c', ['MIIBLjCB4aADAgECAhQ']],
        ['crit', ['exp']],
      ])('refuses a %s header even under a valid signature of the right key', (name, value) => {
        const edToken = signEd25519(header({ alg: 'EdDSA', kid: edKid, [name]: value }), claims(), ed.privateKey);
        const hsToken = signHs256(header({ alg: 'HS256', kid, [name]: value }), claims(), jwtSecret);
        expect(failureCode(() => tokens.verify(edToken))).toBe('token_invalid');
        expect(failureCode(() => tokens.verify(hsToken))).toBe('token_invalid');
      });
    });

    describe('Ed25519 signing', () => {
      beforeEach(() =>
        rebootWith([
          { algorithm: 'EdDSA', privateKey: edPrivatePem, publicKey: edPublicPem },
          { algorithm: 'EdDSA', publicKey: edOld.publicKey, kid: 'ed-old' },
          { algorithm: 'HS256', secret: jwtSecret },
        ]),
      );

      it('writes header { alg: EdDSA, typ: at+jwt, kid } with the thumbprint kid and a 64-byte signature', () => {
        const { token, expiresAt } = tokens.sign(subject);
        expect(decodeSegment(token, 0)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: edKid });
        expect(Buffer.from(token.split('.')[2], 'base64url')).toHaveLength(64);
        expect(decodeSegment(token, 1)).toEqual({
          iss: 'tessera',
          aud: 'tessera',
          sub: 'user-42',
          sid: subject.sessionId,
          jti: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
          iat: START_S,
          exp: START_S + 600,
          roles: ['user', 'editor'],
        });
        expect(expiresAt).toEqual(new Date((START_S + 600) * 1000));
      });

      it('verifies its own tokens, until they expire', () => {
        const { token } = tokens.sign(subject);
        expect(tokens.verify(token)).toEqual(decodeSegment(token, 1));
        clock.advance(600_000 + 5_000);
        expect(failureCode(() => tokens.verify(token))).toBe('token_expired');
      });

      it('verifies with node:crypto and nothing but the JWKS document', () => {
        // The in-process independent check: jose cannot be loaded inside Jest (see withJose),
        // so the signature is also checked with crypto.verify and a key built only from the JWKS.
        const { token } = tokens.sign(subject);
        const document = JSON.parse(JSON.stringify(tokens.jwks())) as { keys: Array<JsonWebKey & { kid: string }> };
        const [encodedHeader, encodedPayload, signature] = token.split('.');
        const jwk = document.keys.find((key) => key.kid === decodeSegment(token, 0).kid);
        expect(jwk).toBeDefined();
        const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
        const input = Buffer.from(`${encodedHeader}.${encodedPayload}`);
        expect(verifyBytes(null, input, publicKey, Buffer.from(signature, 'base64url'))).toBe(true);
        expect(verifyBytes(null, input, publicKey, Buffer.from(alterSignature(token).split('.')[2], 'base64url'))).toBe(false);
      });

      it("verifies with jose's createLocalJWKSet(service.jwks()) + jwtVerify, which refuses a forgery", async () => {
        const { token } = tokens.sign(subject);
        const input = { jwks: tokens.jwks(), issuer: 'tessera', audience: 'tessera', now: clock.now().toISOString() };
        const accepted = await withJose<JoseVerdict>(JOSE_VERIFY, { ...input, token });
        expect(accepted).toEqual({ ok: true, header: { alg: 'EdDSA', typ: 'at+jwt', kid: edKid }, payload: decodeSegment(token, 1) });
        // Controls: the same verifier can say no.
        const forged = signEd25519(header({ alg: 'EdDSA', kid: edKid }), claims(), attacker.privateKey);
        expect(await withJose<JoseVerdict>(JOSE_VERIFY, { ...input, token: forged })).toEqual({
          ok: false,
          code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
        });
        expect(await withJose<JoseVerdict>(JOSE_VERIFY, { ...input, token, issuer: 'someone-else' })).toEqual({
          ok: false,
          code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
        });
      });

      it('verifies tokens of a verify-only Ed25519 key (public key only) until it is retired', async () => {
        const old = signEd25519(header({ alg: 'EdDSA', kid: 'ed-old' }), claims(), edOld.privateKey);
        expect(tokens.verify(old)).toEqual(claims());
        await rebootWith([{ algorithm: 'EdDSA', privateKey: edPrivatePem }]);
        expect(failureCode(() => tokens.verify(old))).toBe('token_invalid');
      });

      it('keeps verifying HS256 tokens of the previous key after the switch to Ed25519', () => {
        expect(tokens.verify(signHs256(header({ alg: 'HS256', kid }), claims(), jwtSecret)).sub).toBe('user-42');
      });
    });

    describe('jwks()', () => {
      it('is empty for an HS256-only ring', async () => {
        expect(tokens.jwks()).toEqual({ keys: [] });
        await rebootWith([
          { algorithm: 'HS256', secret: ringSecret },
          { algorithm: 'HS256', secret: jwtSecret, kid: 'k-old' },
        ]);
        expect(tokens.jwks()).toEqual({ keys: [] });
      });

      it('lists every Ed25519 public key of the ring and nothing secret', async () => {
        await rebootWith([
          { algorithm: 'EdDSA', privateKey: edPrivatePem },
          { algorithm: 'EdDSA', publicKey: edOld.publicKey, kid: 'ed-old' },
          { algorithm: 'HS256', secret: ringSecret },
        ]);
        const document = tokens.jwks();
        expect(document).toEqual({
          keys: [
            { kty: 'OKP', crv: 'Ed25519', x: edJwk.x, kid: edKid, alg: 'EdDSA', use: 'sig' },
            { kty: 'OKP', crv: 'Ed25519', x: edOld.publicKey.export({ format: 'jwk' }).x, kid: 'ed-old', alg: 'EdDSA', use: 'sig' },
          ],
        });
        const json = JSON.stringify(document);
        for (const key of document.keys) {
          expect(Object.keys(key).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x']);
          expect(key).not.toHaveProperty('d');
          expect(key).not.toHaveProperty('k');
        }
        expect(json).not.toContain(String(ed.privateKey.export({ format: 'jwk' }).d));
        expect(json).not.toContain(ringSecret);
        expect(json).not.toContain(Buffer.from(ringSecret).toString('base64url'));
        expect(json).not.toContain(createHash('sha256').update(ringSecret).digest('base64url').slice(0, 12));
      });

      it('drops a retired key', async () => {
        await rebootWith([{ algorithm: 'EdDSA', privateKey: edPrivatePem }]);
        expect(tokens.jwks().keys.map((key) => key.kid)).toEqual([edKid]);
      });
    });
  });
});
