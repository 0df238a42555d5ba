import { connect } from 'node:net';
import request from 'supertest';
import { PAGE_ORIGIN } from '../support/cookie-client';
import { startDemoApp, REAL_BACKENDS } from '../support/demo-app';
import type { DemoApp } from '../support/demo-app';

/** Writes `raw` to the app on a fresh connection and returns all it answers until it closes. */
function rawExchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

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

  // Node's parser answered these itself with no body (Fastify: a body without code): FUZZ_SEED=1985245828 FUZZ_PATH=1 on Fastify.
  it.each([
    ['more than 16 kB of headers', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'request_header_fields_too_large'],
    ['a malformed request line', 'GET /health HTTP/9\r\n\r\n', 400, 'bad_request'],
    ['a HEAD with more than 16 kB of headers', `HEAD /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, undefined],
    ['a header name with a space', 'GET /health HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n', 400, 'bad_request'],
  ])('answers a request Node refuses (%s) with a JSON %d and a code', async (_label, raw, status, code) => {
    const answer = await rawExchange(demo.url, raw);
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/\r\ncontent-type: application\/json/i);
    // A HEAD's answer has the headers of the JSON one and no body (FUZZ_SEED=704167398 FUZZ_PATH=873).
    if (code === undefined) expect(body).toBe('');
    else expect(JSON.parse(body)).toEqual({ statusCode: status, error: expect.any(String), message: expect.any(String), code });
  });
});
