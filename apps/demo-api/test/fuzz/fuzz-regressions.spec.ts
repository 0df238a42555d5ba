import request from 'supertest';
import { PAGE_ORIGIN } from '../support/cookie-client';
import { startDemoApp, REAL_BACKENDS } from '../support/demo-app';
import type { DemoApp } from '../support/demo-app';

/** A request the HTTP fuzzer (http-fuzz.spec.ts) found answered with a 5xx, and the run that found it. */
interface Regression {
  found: string;
  method: 'post';
  path: string;
  body: string;
}

const REGRESSIONS: Regression[] = [
  // class-validator's IsEmail measures the email with encodeURI, which throws a URIError on a lone surrogate: it was a 500.
  { found: 'FUZZ_SEED=730217817 FUZZ_PATH=1248', method: 'post', path: '/auth/register', body: '{"email":"\\ud800"}' },
  { found: 'FUZZ_SEED=730217817 FUZZ_PATH=1248', method: 'post', path: '/auth/login', body: '{"email":"a\\udfff@example.com","password":"12345678"}' },
];

describe(`requests the HTTP fuzzer found answered with a 5xx (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp({ ALLOWED_ORIGINS: PAGE_ORIGIN });
  });

  afterAll(() => demo?.close());

  it.each(REGRESSIONS)('answers $method $path $body (found by $found) with 400 validation_failed', async ({ method, path, body }) => {
    const response = await request(demo.url)[method](path).set('X-Auth-Mode', 'bearer').set('Content-Type', 'application/json').send(body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'validation_failed', fields: expect.arrayContaining(['email']) });
  });

  // On Fastify, @fastify/cors answered 400 text/plain "Invalid Preflight Request" (no code): FUZZ_SEED=-748047592 FUZZ_PATH=18.
  it.each([{ Origin: PAGE_ORIGIN }, {}, { 'Access-Control-Request-Method': 'POST' }])(
    'answers an OPTIONS that is not a complete preflight (%p) as Express does: 204',
    async (headers) => {
      const response = await request(demo.url).options('/.well-known/jwks.json').set(headers);
      expect(response.status).toBe(204);
    },
  );
});
