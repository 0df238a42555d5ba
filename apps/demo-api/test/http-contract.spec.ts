import { Client } from 'pg';
import request from 'supertest';
import { CookieClient, PAGE_ORIGIN } from './support/cookie-client';
import { bearerLogin, bearerRefresh, parseSetCookies, startDemoApp, uniqueEmail } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';

describe('demo-api: input handling and the rest of the HTTP contract', () => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp({ LOGIN_RATE_LIMIT: '3', ADMIN_EMAILS: 'Boss@Example.com', ALLOWED_ORIGINS: PAGE_ORIGIN });
  });

  /** A fresh browser in cookie mode: it sends the CSRF token and Origin on unsafe requests. */
  const browser = () => new CookieClient(demo.url, { origin: PAGE_ORIGIN });

  afterAll(async () => {
    await demo.close();
  });

  describe('register', () => {
    it.each([
      ['an invalid email', { email: 'not-an-email', password: PASSWORD }, 'email'],
      ['a password shorter than 8', { email: uniqueEmail(), password: 'short' }, 'password'],
      ['a password longer than 128', { email: uniqueEmail(), password: 'x'.repeat(129) }, 'password'],
      ['a missing password', { email: uniqueEmail() }, 'password'],
      ['a non-string password', { email: uniqueEmail(), password: 12345678 }, 'password'],
      ['an unknown field', { email: uniqueEmail(), password: PASSWORD, roles: ['admin'] }, 'roles'],
    ])('answers 400 naming the field for %s', async (_label, body, field) => {
      const response = await browser().post('/auth/register').send(body).expect(400);
      expect(response.body).toMatchObject({ statusCode: 400, code: 'validation_failed' });
      expect(response.body.fields).toContain(field);
      expect(JSON.stringify(response.body)).not.toContain(PASSWORD);
    });

    it('accepts passwords of exactly 8 and 128 characters', async () => {
      await browser().post('/auth/register').send({ email: uniqueEmail(), password: 'x'.repeat(8) }).expect(201);
      await browser().post('/auth/register').send({ email: uniqueEmail(), password: 'x'.repeat(128) }).expect(201);
    });

    it('answers 409 email_taken for a registered email, whatever its case', async () => {
      const email = uniqueEmail('taken');
      await browser().post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      const again = await browser()
        .post('/auth/register')
        .send({ email: email.toUpperCase(), password: PASSWORD })
        .expect(409);
      expect(again.body).toMatchObject({ statusCode: 409, code: 'email_taken' });
    });

    it('gives the admin role to ADMIN_EMAILS', async () => {
      // The email is unique per database, so register it only if this run has not yet.
      const email = 'boss@example.com';
      await browser().post('/auth/register').send({ email, password: PASSWORD });
      const login = await bearerLogin(demo.url, 'BOSS@example.com', PASSWORD).expect(200);
      expect(login.body.user.roles).toEqual(['user', 'admin']);
    });
  });

  describe('login', () => {
    it('gives the same answer for an unknown email and a wrong password', async () => {
      const email = uniqueEmail();
      await browser().post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      const wrongPassword = await browser()
        .post('/auth/login')
        .send({ email, password: 'wrong password' })
        .expect(401);
      const unknownEmail = await browser()
        .post('/auth/login')
        .send({ email: uniqueEmail('nobody'), password: 'wrong password' })
        .expect(401);
      expect(wrongPassword.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Invalid email or password',
        code: 'invalid_credentials',
      });
      expect(unknownEmail.body).toEqual(wrongPassword.body);
      expect(unknownEmail.headers['set-cookie']).toBeUndefined();
    });

    it('answers 429 with Retry-After once LOGIN_RATE_LIMIT failures are used up, even for the right password', async () => {
      const email = uniqueEmail('limited');
      await browser().post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      for (let attempt = 0; attempt < 3; attempt++) {
        await browser().post('/auth/login').send({ email, password: 'wrong password' }).expect(401);
      }
      const limited = await browser().post('/auth/login').send({ email, password: PASSWORD }).expect(429);
      expect(limited.body.code).toBe('too_many_attempts');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      demo.clock.advance(15 * 60_000 + 1_000);
      try {
        await browser().post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      } finally {
        demo.clock.set(Date.now());
      }
    });
  });

  describe('bodies', () => {
    /** A login whose password alone is `kb` kilobytes long. */
    const loginWithPasswordOf = (kb: number) =>
      browser()
        .post('/auth/login')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(kb * 1024) }));

    it('answers 413 for a body over 100 kB', async () => {
      const response = await loginWithPasswordOf(101).expect(413);
      expect(response.body).toMatchObject({ statusCode: 413, code: 'payload_too_large' });
    });

    it('accepts a body just under 100 kB (then validates it)', async () => {
      const response = await loginWithPasswordOf(99).expect(400);
      expect(response.body.code).toBe('validation_failed');
    });

    it.each([
      ['malformed JSON', '{"email":', 'application/json'],
      ['a JSON array', '[1,2,3]', 'application/json'],
      ['a JSON string', '"hello"', 'application/json'],
      ['JSON null', 'null', 'application/json'],
      ['nested objects', '{"email":{"$gt":""},"password":["a"]}', 'application/json'],
      ['form encoding', 'email=a%40example.com', 'application/x-www-form-urlencoded'],
      ['plain text', 'hello', 'text/plain'],
      ['an unknown charset', '{}', 'application/json; charset=klingon'],
    ])('never answers 500 for %s', async (_label, body, contentType) => {
      for (const path of ['/auth/register', '/auth/login', '/auth/refresh']) {
        const response = await browser().post(path).set('Content-Type', contentType).send(body);
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expect(typeof response.body.code).toBe('string');
        expect(response.text).not.toMatch(/at .+\.(js|ts):\d+/); // no stack trace
      }
    });

    it('does not let a __proto__ key pollute objects or grant anything', async () => {
      const email = uniqueEmail('proto');
      const body = `{"__proto__":{"roles":["admin"],"admin":true},"email":"${email}","password":"${PASSWORD}"}`;
      const response = await browser().post('/auth/register').set('Content-Type', 'application/json').send(body);
      expect(response.status).toBeLessThan(500);
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
      const login = await bearerLogin(demo.url, email, PASSWORD);
      if (response.status === 201) expect(login.body.user.roles).toEqual(['user']);
      else expect(login.status).toBe(401);
    });

    it('refuses a refresh token that is not a string', async () => {
      const response = await request(demo.url)
        .post('/auth/refresh')
        .set('X-Auth-Mode', 'bearer')
        .send({ refreshToken: { $ne: null } })
        .expect(400);
      expect(response.body.fields).toContain('refreshToken');
    });

    it('answers 401 for a malformed or unknown refresh token', async () => {
      for (const refreshToken of ['', 'x', 'a'.repeat(22) + '.' + 'b'.repeat(43), "' OR 1=1 --"]) {
        const response = await bearerRefresh(demo.url, refreshToken).expect(401);
        expect(response.body.code).toBe('invalid_refresh_token');
      }
    });

    it('answers unknown routes with 404 and a code', async () => {
      const response = await request(demo.url).get('/nope').expect(404);
      expect(response.body).toMatchObject({ statusCode: 404, code: 'not_found' });
    });
  });

  describe('sessions over time', () => {
    it('ends a session after the idle timeout: refresh answers session_expired', async () => {
      const email = uniqueEmail('idle');
      await browser().post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      const login = await bearerLogin(demo.url, email, PASSWORD).expect(200);
      demo.clock.advance(7 * 24 * 3_600_000 + 1_000);
      try {
        const response = await bearerRefresh(demo.url, login.body.refreshToken).expect(401);
        expect(response.body.code).toBe('session_expired');
      } finally {
        demo.clock.set(Date.now());
      }
    });
  });

  describe('documentation and health', () => {
    it('serves the OpenAPI document with every contract route', async () => {
      const response = await request(demo.url).get('/docs-json').expect(200);
      expect(Object.keys(response.body.paths)).toEqual(
        expect.arrayContaining([
          '/health',
          '/auth/csrf',
          '/auth/register',
          '/auth/login',
          '/auth/refresh',
          '/auth/logout',
          '/api/me',
        ]),
      );
      expect(Object.keys(response.body.paths['/auth/csrf'])).toEqual(['get']);
      expect(Object.keys(response.body.paths['/auth/csrf'].get.responses)).toContain('200');
    });

    it('reports the database and the session store as up, and which store it is', async () => {
      const response = await request(demo.url).get('/health').expect(200);
      expect(response.body).toEqual({ status: 'ok', database: 'up', store: 'up', storeType: demo.store });
    });
  });
});

describe('demo-api: COOKIE_SECURE=false', () => {
  it('drops the cookie prefixes and the Secure flag', async () => {
    const demo = await startDemoApp({ COOKIE_SECURE: 'false' });
    try {
      const email = uniqueEmail();
      const browser = new CookieClient(demo.url, { csrfCookie: 'tessera-csrf' });
      await browser.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
      const login = await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      const cookies = parseSetCookies(login.headers['set-cookie']);
      expect(cookies.map((cookie) => cookie.name).sort()).toEqual(['tessera-at', 'tessera-csrf', 'tessera-rt']);
      for (const cookie of cookies) expect(cookie.attributes).not.toHaveProperty('secure');
      expect(cookies.find((cookie) => cookie.name === 'tessera-csrf')?.value).toBe(login.body.csrfToken);
      const access = cookies.find((cookie) => cookie.name === 'tessera-at');
      if (!access) throw new Error('no tessera-at cookie');
      await request(demo.url).get('/api/me').set('Cookie', `tessera-at=${access.value}`).expect(200);
    } finally {
      await demo.close();
    }
  });
});

describe('demo-api: /health when the database is unreachable', () => {
  it('answers 503 database_unavailable', async () => {
    const baseUrl = new URL(String(process.env.TESSERA_TEST_DATABASE_URL));
    const database = `tessera_health_${process.pid}_${Date.now()}`;
    const admin = new Client({ connectionString: baseUrl.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(baseUrl.toString());
    url.pathname = `/${database}`;
    const demo = await startDemoApp({ DATABASE_URL: url.toString() });
    try {
      await request(demo.url).get('/health').expect(200);
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
      const response = await request(demo.url).get('/health').expect(503);
      // On PostgreSQL the sessions are in that database too; Redis is still there.
      expect(response.body).toEqual({
        status: 'error',
        database: 'down',
        store: demo.store === 'postgres' ? 'down' : 'up',
        storeType: demo.store,
        code: 'database_unavailable',
      });
    } finally {
      await demo.close().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  });
});
