import { withJose } from '@tessera/testing-support';
import { createHash, createHmac, createPublicKey, generateKeyPairSync, randomBytes, verify as verifyBytes } from 'node:crypto';
import type { JsonWebKey } from 'node:crypto';
import request from 'supertest';
import { bearerSignup, startDemoApp, REAL_BACKENDS } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';

const ed = generateKeyPairSync('ed25519');
const privatePem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const publicPem = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const x = String(ed.publicKey.export({ format: 'jwk' }).x);
/** RFC 7638 thumbprint, by hand: the kid the ring derives for the key. */
const edKid = createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x })).digest('base64url');

/** The Ed25519 environment, the private key written on one line with literal `\n` as in a .env file. */
const ed25519Env = {
  JWT_PRIVATE_KEY: privatePem.trim().split('\n').join('\\n'),
  JWT_PUBLIC_KEY: publicPem,
};

interface JwkDocument {
  keys: Array<JsonWebKey & { kid: string }>;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function decodeSegment(token: string, index: 0 | 1): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8')) as Record<string, unknown>;
}

function signHs256(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** A new user, logged in in bearer mode (no CSRF token needed). */
const signedIn = (demo: DemoApp) => bearerSignup(demo.url, 'jwks', PASSWORD);

describe(`demo-api: GET /.well-known/jwks.json and Ed25519 access tokens (${REAL_BACKENDS})`, () => {
  describe('HS256 only', () => {
    let demo: DemoApp;

    beforeAll(async () => {
      demo = await startDemoApp();
    });

    afterAll(() => demo.close());

    it('answers 404 with a code, and publishes nothing', async () => {
      const response = await request(demo.url).get('/.well-known/jwks.json').expect(404);
      expect(response.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'No public keys: access tokens are signed with HS256',
        code: 'not_found',
      });
      // A cached 404 would hide the keys after a switch to Ed25519.
      expect(response.headers['cache-control'] ?? '').not.toContain('max-age=300');
      expect(response.text).not.toContain(demo.jwtSecret);
    });

    it('still signs HS256 access tokens', async () => {
      const { accessToken } = await signedIn(demo);
      expect(decodeSegment(accessToken, 0)).toMatchObject({ alg: 'HS256', typ: 'at+jwt' });
    });
  });

  describe('Ed25519 keys, no JWT_SECRET', () => {
    let demo: DemoApp;

    beforeAll(async () => {
      demo = await startDemoApp({ ...ed25519Env, JWT_SECRET: '' });
    });

    afterAll(() => demo.close());

    it('serves one OKP key without private parts, publicly cacheable, with no authentication', async () => {
      const response = await request(demo.url).get('/.well-known/jwks.json').expect(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      expect(response.headers['cache-control']).toBe('public, max-age=300');
      expect(response.body).toEqual({ keys: [{ kty: 'OKP', crv: 'Ed25519', x, kid: edKid, alg: 'EdDSA', use: 'sig' }] });
      expect(response.body.keys[0]).not.toHaveProperty('d');
      expect(response.text).not.toContain(String(ed.privateKey.export({ format: 'jwk' }).d));
    });

    it('issues EdDSA access tokens that the JWKS verifies, and that /api/me accepts', async () => {
      const login = await signedIn(demo);
      const token = login.accessToken;
      expect(decodeSegment(token, 0)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: edKid });

      const me = await request(demo.url).get('/api/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect(me.body).toMatchObject({ id: login.user.id, sessionId: login.session.id });

      // Independent check 1, in process: node:crypto with a key built only from the fetched document.
      const document = (await request(demo.url).get('/.well-known/jwks.json').expect(200)).body as JwkDocument;
      const jwk = document.keys.find((key) => key.kid === decodeSegment(token, 0).kid);
      expect(jwk).toBeDefined();
      const [header, payload, signature] = token.split('.');
      const publicKey = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      expect(verifyBytes(null, Buffer.from(`${header}.${payload}`), publicKey, Buffer.from(signature, 'base64url'))).toBe(true);

      // Independent check 2: jose, against the fetched document (in a child process, see withJose).
      const verdict = await withJose<{ header: unknown; payload: Record<string, unknown> }>(
        `const { payload, protectedHeader } = await jose.jwtVerify(input.token, jose.createLocalJWKSet(input.jwks), {
          issuer: 'tessera', audience: 'tessera', typ: 'at+jwt', algorithms: ['EdDSA'], currentDate: new Date(input.now),
        });
        return { header: protectedHeader, payload };`,
        { token, jwks: document, now: demo.clock.now().toISOString() },
      );
      expect(verdict.header).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: edKid });
      expect(verdict.payload).toMatchObject({ sub: login.user.id, sid: login.session.id, roles: ['user'] });
    });

    it('refuses an HS256 token under the Ed25519 kid HMACed with the public key PEM (algorithm confusion)', async () => {
      const login = await signedIn(demo);
      const claims = decodeSegment(login.accessToken, 1);
      const forged = signHs256({ alg: 'HS256', typ: 'at+jwt', kid: edKid }, { ...claims, roles: ['user', 'admin'] }, publicPem);
      const response = await request(demo.url).get('/api/me').set('Authorization', `Bearer ${forged}`).expect(401);
      expect(response.body.code).toBe('token_invalid');
    });
  });

  describe('Ed25519 keys and JWT_SECRET (switching from HS256)', () => {
    let demo: DemoApp;
    let jwtSecret: string;

    beforeAll(async () => {
      jwtSecret = randomBytes(32).toString('base64url');
      demo = await startDemoApp({ ...ed25519Env, JWT_SECRET: jwtSecret });
    });

    afterAll(() => demo.close());

    /** Claims as the app signs them, for a real user and session, at the app's clock. */
    function claimsFor(login: { user: { id: string }; session: { id: string } }): Record<string, unknown> {
      const iat = Math.floor(demo.clock.now().getTime() / 1000);
      return {
        iss: 'tessera',
        aud: 'tessera',
        sub: login.user.id,
        sid: login.session.id,
        jti: randomBytes(16).toString('base64url'),
        iat,
        exp: iat + 600,
        roles: ['user'],
      };
    }

    it('signs with Ed25519 and publishes only that key', async () => {
      const { accessToken } = await signedIn(demo);
      expect(decodeSegment(accessToken, 0)).toEqual({ alg: 'EdDSA', typ: 'at+jwt', kid: edKid });
      const response = await request(demo.url).get('/.well-known/jwks.json').expect(200);
      expect(response.body.keys.map((key: { kid: string }) => key.kid)).toEqual([edKid]);
      expect(response.text).not.toContain(jwtSecret);
    });

    it('still accepts an HS256 token signed with JWT_SECRET (issued before the switch)', async () => {
      const login = await signedIn(demo);
      const hsKid = createHash('sha256').update(jwtSecret).digest('base64url').slice(0, 12);
      const token = signHs256({ alg: 'HS256', typ: 'at+jwt', kid: hsKid }, claimsFor(login), jwtSecret);
      const me = await request(demo.url).get('/api/me').set('Authorization', `Bearer ${token}`).expect(200);
      expect(me.body).toMatchObject({ id: login.user.id, sessionId: login.session.id, roles: ['user'] });
      // Control: the same token under a secret the app does not hold is refused.
      const wrong = signHs256({ alg: 'HS256', typ: 'at+jwt', kid: hsKid }, claimsFor(login), `${jwtSecret}-not`);
      expect((await request(demo.url).get('/api/me').set('Authorization', `Bearer ${wrong}`).expect(401)).body.code).toBe(
        'token_invalid',
      );
    });

    it('refuses an HS256 token under the Ed25519 kid HMACed with the public key PEM', async () => {
      const login = await signedIn(demo);
      const forged = signHs256({ alg: 'HS256', typ: 'at+jwt', kid: edKid }, claimsFor(login), publicPem);
      const response = await request(demo.url).get('/api/me').set('Authorization', `Bearer ${forged}`).expect(401);
      expect(response.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: expect.any(String), code: 'token_invalid' });
      expect(response.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    });
  });
});
