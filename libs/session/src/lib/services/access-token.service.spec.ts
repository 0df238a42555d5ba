import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import jsonwebtoken from 'jsonwebtoken';
import type { JwtHeader, JwtPayload } from 'jsonwebtoken';
import { createHash, createHmac } from 'node:crypto';
import { FakeClock } from '../../testing';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface';
import { SessionModule } from '../session.module';
import { AccessTokenService } from './access-token.service';

const jwtSecret = 'access-token-spec-jwt-secret-0123456789';
const sessionSecret = 'access-token-spec-session-secret-012345';
const otherSecret = 'an-attacker-chosen-secret-0123456789abcdef';
const kid = createHash('sha256').update(jwtSecret).digest('base64url').slice(0, 12);
const START = new Date('2030-01-01T00:00:00.000Z');
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

  async function boot(extra: Partial<SessionModuleOptions> = {}): Promise<void> {
    clock = new FakeClock(START);
    moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRoot({ jwtSecret, sessionSecret, clock, ...extra })],
    }).compile();
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
      const last = token.at(-1) === 'A' ? 'B' : 'A';
      expect(failureCode(() => tokens.verify(token.slice(0, -1) + last))).toBe('token_invalid');
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
});
