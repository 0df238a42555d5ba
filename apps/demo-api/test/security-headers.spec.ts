import request from 'supertest';
import type { Response, Test } from 'supertest';
import { CookieClient, PAGE_ORIGIN } from './support/cookie-client';
import { startDemoApp, uniqueEmail } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';

/** What `app.useSecurityHeaders()` sets with no options (helmet 8's defaults). */
const HELMET_DEFAULTS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';" +
    "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';" +
    "style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

function expectSecurityHeaders(response: Response): void {
  const picked = Object.fromEntries(Object.keys(HELMET_DEFAULTS).map((name) => [name, response.headers[name]]));
  expect(picked).toEqual(HELMET_DEFAULTS);
  expect(response.headers['x-powered-by']).toBeUndefined();
}

/** A bearer-mode login of a new user (an admin when `email` is in ADMIN_EMAILS). */
async function bearerLogin(url: string, email = uniqueEmail('headers')) {
  await request(url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
  const login = await request(url)
    .post('/auth/login')
    .set('X-Auth-Mode', 'bearer')
    .send({ email, password: PASSWORD })
    .expect(200);
  return login.body as { accessToken: string; refreshToken: string; user: { id: string } };
}

describe('finding 9: every response carries the security headers and no-store where it matters', () => {
  const adminEmail = uniqueEmail('admin');
  let demo: DemoApp;
  let user: Awaited<ReturnType<typeof bearerLogin>>;
  let admin: Awaited<ReturnType<typeof bearerLogin>>;

  beforeAll(async () => {
    demo = await startDemoApp({ ALLOWED_ORIGINS: PAGE_ORIGIN, ADMIN_EMAILS: adminEmail });
    user = await bearerLogin(demo.url);
    admin = await bearerLogin(demo.url, adminEmail);
  });

  afterAll(async () => {
    await demo.close();
  });

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
  const json = { 'Content-Type': 'application/json' };

  describe('security headers (nosniff and the rest of helmet’s defaults)', () => {
    const login = () => request(demo.url).post('/auth/login');
    const deepBody = `${'['.repeat(40)}${']'.repeat(40)}`;
    const responses: Array<[string, number, () => Test]> = [
      ['200 JSON (GET /api/me)', 200, () => request(demo.url).get('/api/me').set(bearer(user.accessToken))],
      ['401 (no token)', 401, () => request(demo.url).get('/api/me')],
      ['403 (cookie mode without a CSRF token)', 403, () => login().send({})],
      ['404 (unknown route)', 404, () => request(demo.url).get('/nope')],
      ['400 validation_failed', 400, () => login().set('X-Auth-Mode', 'bearer').send({ email: 'x' })],
      ['400 too deep', 400, () => login().set('X-Auth-Mode', 'bearer').set(json).send(deepBody)],
      ['400 malformed JSON (body-parser, Express error middleware)', 400, () => login().set(json).send('{"email":')],
      ['413 (body-parser, Express error middleware)', 413, () => login().set(json).send(`"${'x'.repeat(101 * 1024)}"`)],
      ['415 unknown charset (body-parser)', 415, () => login().type('application/json; charset=klingon').send('{}')],
      [
        '204 CORS preflight',
        204,
        () => request(demo.url).options('/auth/login').set('Origin', PAGE_ORIGIN).set('Access-Control-Request-Method', 'POST'),
      ],
      ['GET /health', 200, () => request(demo.url).get('/health')],
      ['GET /docs-json', 200, () => request(demo.url).get('/docs-json')],
      ['GET /docs', 200, () => request(demo.url).get('/docs')],
    ];

    it.each(responses)('%s', async (_label, status, send) => {
      const response = await send();
      expect(response.status).toBe(status);
      expectSecurityHeaders(response);
    });

    it('keeps /docs working under the CSP: no inline script, every script and stylesheet served from the app', async () => {
      const page = await request(demo.url).get('/docs').redirects(1).expect(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const html = page.text;
      // script-src 'self' refuses inline scripts; inline styles are allowed ('unsafe-inline').
      expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
      expect(html).not.toMatch(/\son[a-z]+\s*=/i); // script-src-attr 'none'
      const assets = [...html.matchAll(/<script[^>]*\ssrc="([^"]+)"|<link[^>]*\shref="([^"]+)"/gi)].map(
        (match) => new URL(match[1] ?? match[2], `${demo.url}/docs`),
      );
      expect(assets.length).toBeGreaterThanOrEqual(3);
      for (const asset of assets) {
        expect(asset.origin).toBe(new URL(demo.url).origin);
        const response = await request(demo.url).get(asset.pathname).expect(200);
        expect(response.headers['content-type']).toMatch(/javascript|css|image/);
      }
      const spec = await request(demo.url).get('/docs-json').expect(200);
      expect(spec.headers['content-type']).toMatch(/^application\/json/);
      expect(spec.body.openapi).toMatch(/^3\./);
    });
  });

  describe('Cache-Control: no-store on every response with a token or personal data', () => {
    const expectNoStore = (response: Response) => expect(response.headers['cache-control']).toBe('no-store');

    it('register, login and refresh (bearer mode)', async () => {
      const email = uniqueEmail('cache');
      const asBearer = (path: string) => request(demo.url).post(path).set('X-Auth-Mode', 'bearer');
      expectNoStore(await asBearer('/auth/register').send({ email, password: PASSWORD }).expect(201));
      const login = await asBearer('/auth/login').send({ email, password: PASSWORD }).expect(200);
      expectNoStore(login);
      expectNoStore(await asBearer('/auth/refresh').send({ refreshToken: login.body.refreshToken }).expect(200));
    });

    it('CSRF token, login, /api/me, sessions, password change, logout (cookie mode)', async () => {
      const email = uniqueEmail('cache-cookie');
      const browser = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
      expectNoStore(await browser.get('/auth/csrf').expect(200));
      await browser.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      expectNoStore(await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200));
      expectNoStore(await browser.get('/api/me').expect(200));
      expectNoStore(await browser.get('/auth/sessions').expect(200));
      expectNoStore(
        await browser.post('/api/me/password').send({ currentPassword: PASSWORD, newPassword: `${PASSWORD}!` }).expect(204),
      );
      expectNoStore(await browser.post('/auth/logout').expect(204));
    });

    it('/api/me, sessions and password change (bearer mode)', async () => {
      const own = await bearerLogin(demo.url);
      expectNoStore(await request(demo.url).get('/api/me').set(bearer(own.accessToken)).expect(200));
      expectNoStore(await request(demo.url).get('/auth/sessions').set(bearer(own.accessToken)).expect(200));
      expectNoStore(
        await request(demo.url)
          .post('/api/me/password')
          .set(bearer(own.accessToken))
          .send({ currentPassword: PASSWORD, newPassword: `${PASSWORD}!` })
          .expect(200),
      );
    });

    it('admin routes', async () => {
      const path = `/api/admin/users/${user.user.id}/sessions`;
      expectNoStore(await request(demo.url).get(path).set(bearer(admin.accessToken)).expect(200));
      expectNoStore(await request(demo.url).get(path).set(bearer(user.accessToken)).expect(403));
      const victim = await bearerLogin(demo.url);
      expectNoStore(
        await request(demo.url).delete(`/api/admin/users/${victim.user.id}/sessions`).set(bearer(admin.accessToken)).expect(204),
      );
    });

    it('errors and everything else of the API, but not the docs', async () => {
      expectNoStore(await request(demo.url).get('/api/me').expect(401));
      expectNoStore(await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({}).expect(400));
      expectNoStore(await request(demo.url).get('/nope').expect(404));
      expectNoStore(await request(demo.url).get('/health').expect(200));
      const docs = await request(demo.url).get('/docs-json').expect(200);
      expect(docs.headers['cache-control'] ?? '').not.toContain('no-store');
    });
  });
});

describe('finding 9: COOKIE_SECURE=false (plain http) keeps the CSP from upgrading requests to https', () => {
  it('drops upgrade-insecure-requests and keeps the other directives and headers', async () => {
    const demo = await startDemoApp({ COOKIE_SECURE: 'false' });
    try {
      const response = await request(demo.url).get('/docs').redirects(1).expect(200);
      const csp = String(response.headers['content-security-policy']);
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(`${csp};upgrade-insecure-requests`).toBe(HELMET_DEFAULTS['content-security-policy']);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await demo.close();
    }
  });
});
