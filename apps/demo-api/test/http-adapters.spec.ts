import request from 'supertest';
import type { Response, Test } from 'supertest';
import { CookieClient, PAGE_ORIGIN } from './support/cookie-client';
import { REAL_BACKENDS, startDemoApp, uniqueEmail } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
/** The response headers the contract (DEMO-API.md) and the browser's handling of the answer depend on. */
const HEADERS = [
  'content-type',
  'cache-control',
  'pragma',
  'clear-site-data',
  'www-authenticate',
  'retry-after',
  'x-content-type-options',
  'content-security-policy',
  'strict-transport-security',
  'x-frame-options',
  'referrer-policy',
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'x-powered-by',
];

/** Body fields that differ between any two sessions (timestamps, `...At`, too). */
const MASKED = new Set(['accessToken', 'refreshToken', 'csrfToken', 'id', 'sessionId', 'email']);

/** A response as the contract sees it: status, body (tokens and ids masked), cookies (values masked) and headers. */
function contractView(response: Response): Record<string, unknown> {
  const cookies = ((response.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((cookie) =>
    cookie
      .replace(/^([^=]+)=[^;]+/, '$1=<value>')
      .replace(/Expires=[^;]+/, (expires) => (expires.includes('1970') ? expires : 'Expires=<future>')),
  );
  const headers = Object.fromEntries(HEADERS.map((name) => [name, response.headers[name]]));
  const body = JSON.parse(JSON.stringify(response.body ?? null), (key, value) =>
    typeof value === 'string' && (MASKED.has(key) || key.endsWith('At')) ? '<masked>' : value,
  );
  return { status: response.status, body, cookies, headers };
}

describe(`demo-api answers the same on Express and Fastify (${REAL_BACKENDS})`, () => {
  let express: DemoApp;
  let fastify: DemoApp;

  beforeAll(async () => {
    const env = { ALLOWED_ORIGINS: PAGE_ORIGIN, LOGIN_RATE_LIMIT: '1000' };
    express = await startDemoApp({ ...env, HTTP_ADAPTER: 'express' });
    fastify = await startDemoApp({ ...env, HTTP_ADAPTER: 'fastify' });
  });

  afterAll(async () => {
    await Promise.all([express?.close(), fastify?.close()]);
  });

  const deep = `${'['.repeat(40)}${']'.repeat(40)}`;
  const requests: Array<[string, (url: string) => Test]> = [
    ['404 for an unknown route', (url) => request(url).get('/nope').set('Origin', PAGE_ORIGIN)],
    ['401 without a token', (url) => request(url).get('/api/me')],
    ['401 for a bad bearer token', (url) => request(url).get('/api/me').set('Authorization', 'Bearer nope')],
    ['403 for cookie mode without a CSRF token', (url) => request(url).post('/auth/login').send({ email: 'a@example.com', password: PASSWORD })],
    ['400 validation_failed', (url) => request(url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email: 'x' })],
    ['400 malformed JSON', (url) => request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').type('json').send('{"email":')],
    ['400 a JSON string', (url) => request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').type('json').send('"hello"')],
    ['400 too deep', (url) => request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').type('json').send(deep)],
    ['413 over 100 kB', (url) => request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').type('json').send(`"${'x'.repeat(101 * 1024)}"`)],
    ['415 unknown charset', (url) => request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').type('application/json; charset=klingon').send('{}')],
    ['a plain-text body', (url) => request(url).post('/auth/register').set('X-Auth-Mode', 'bearer').type('text/plain').send('hello')],
    ['a form body', (url) => request(url).post('/auth/register').set('X-Auth-Mode', 'bearer').type('form').send('email=x&password=y')],
    ['401 for a wrong password', (url) => request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email: uniqueEmail(), password: PASSWORD })],
    [
      'a CORS preflight',
      (url) => request(url).options('/auth/login').set('Origin', PAGE_ORIGIN).set('Access-Control-Request-Method', 'POST'),
    ],
    ['GET /health', (url) => request(url).get('/health')],
    ['GET /.well-known/jwks.json (HS256: 404)', (url) => request(url).get('/.well-known/jwks.json')],
  ];

  it.each(requests)('%s', async (_label, send) => {
    const [onExpress, onFastify] = [contractView(await send(express.url)), contractView(await send(fastify.url))];
    expect(onFastify).toEqual(onExpress);
    expect(onExpress.status).toBeGreaterThanOrEqual(200);
  });

  it('a cookie-mode session from login to logout, and a bearer one', async () => {
    const run = async (url: string) => {
      const browser = new CookieClient(url, { origin: PAGE_ORIGIN });
      const email = uniqueEmail('adapters');
      const steps: Response[] = [];
      steps.push(await browser.post('/auth/register').send({ email, password: PASSWORD }));
      steps.push(await browser.post('/auth/login').send({ email, password: PASSWORD }));
      steps.push(await browser.get('/api/me'));
      steps.push(await browser.get('/auth/sessions'));
      steps.push(await browser.post('/auth/refresh'));
      steps.push(await browser.post('/auth/logout'));
      steps.push(await browser.get('/api/me'));
      const bearer = await request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD });
      steps.push(bearer);
      steps.push(await request(url).get('/api/me').set('Authorization', `Bearer ${bearer.body.accessToken}`));
      steps.push(await request(url).post('/auth/logout').set('Authorization', `Bearer ${bearer.body.accessToken}`));
      steps.push(await request(url).get('/api/me').set('Authorization', `Bearer ${bearer.body.accessToken}`));
      return steps.map(contractView);
    };
    const onExpress = await run(express.url);
    expect(await run(fastify.url)).toEqual(onExpress);
    // And it is the contract: the statuses of each step.
    expect(onExpress.map((step) => step.status)).toEqual([201, 200, 200, 200, 200, 204, 401, 200, 200, 204, 401]);
    expect(onExpress[5].headers).toMatchObject({ 'clear-site-data': '"cookies"', 'cache-control': 'no-store' });
    expect(onExpress[10].headers).toMatchObject({ 'www-authenticate': 'Bearer error="invalid_token"' });
  });
});
