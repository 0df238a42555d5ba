import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from 'pg';
import request from 'supertest';
import type { Response, Test } from 'supertest';
import { createOwnDatabase } from '../support/own-database';
import type { OwnDatabase } from '../support/own-database';
import { bearerLoginBody, CookieJar } from '@tessera/testing-support';

const ROOT = join(__dirname, '../../../..');
const ACCESS_COOKIE = '__Host-tessera-at';
const REFRESH_COOKIE = '__Secure-tessera-rt';
const CSRF_COOKIE = '__Host-tessera-csrf';
const PASSWORD = 'correct horse battery';

/** A page of `origin` in a browser: its cookies (a `CookieJar`), and unsafe requests sent as the page sends them. */
class Browser {
  private readonly jar = new CookieJar();

  constructor(
    private readonly url: string,
    private readonly origin: string,
  ) {}

  cookie(name: string): string | undefined {
    return this.jar.get(name);
  }

  cookieAttributes(response: Response, name: string): string | undefined {
    return ([] as string[]).concat(response.headers['set-cookie'] ?? []).find((line) => line.startsWith(`${name}=`));
  }

  async get(path: string): Promise<Response> {
    return this.jar.absorb(await this.withCookies(request(this.url).get(path), path));
  }

  /** An unsafe request as the page sends it: cookies, its origin, the CSRF header. */
  async send(method: 'post' | 'delete', path: string, body?: object): Promise<Response> {
    let pending = this.withCookies(request(this.url)[method](path), path).set('Origin', this.origin);
    const token = this.cookie(CSRF_COOKIE);
    if (token) pending = pending.set('X-CSRF-Token', token);
    return this.jar.absorb(await (body ? pending.send(body) : pending));
  }

  private withCookies(pending: Test, path: string): Test {
    const header = this.jar.header(path);
    return header ? pending.set('Cookie', header) : pending;
  }
}

// The README's quick start, run as written: an app with a login handler of its own and
// every other session route from the library, on a PostgreSQL database of its own.
describe('quick start: the whole session contract from the library, on PostgreSQL', () => {
  let database: OwnDatabase;
  let db: Client;
  let app: INestApplication;
  let url: string;
  let email: string;

  beforeAll(async () => {
    database = await createOwnDatabase('tessera_quickstart');
    db = database.client;
    // What the quick start reads from its environment.
    process.env.DATABASE_URL = database.url;
    process.env.JWT_SECRET = randomBytes(32).toString('base64url');
    process.env.SESSION_SECRET = randomBytes(32).toString('base64url');
    // Imported only now, as an app's main.ts would import it once its environment is set.
    const quickstart = await import('./quickstart.module');
    app = await NestFactory.create(quickstart.AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    email = `ada-${randomBytes(4).toString('hex')}@example.com`;
    await app.get(quickstart.Users).add(email, PASSWORD);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  /** How the PostgreSQL store has a session: live (null) or why it was revoked. */
  async function revokedReason(sessionId: string): Promise<string | null | undefined> {
    const result = await db.query('SELECT revoked_reason FROM tessera_sessions WHERE id = $1', [sessionId]);
    return result.rows[0]?.revoked_reason;
  }

  async function bearerLogin(): Promise<{ accessToken: string; refreshToken: string; sessionId: string }> {
    const response = await request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(200);
    expect(response.body).toEqual(bearerLoginBody({ id: expect.any(String), email, roles: ['user'] }));
    // Ten minutes by default, counted in whole seconds on the real clock.
    expect(response.body.expiresIn).toBeGreaterThan(590);
    expect(response.body.expiresIn).toBeLessThanOrEqual(600);
    expect(response.headers['set-cookie']).toBeUndefined();
    return { accessToken: response.body.accessToken, refreshToken: response.body.refreshToken, sessionId: response.body.session.id };
  }

  async function statusWith(accessToken: string): Promise<{ status: number; code?: string }> {
    const response = await request(url).get('/auth/sessions').set('Authorization', `Bearer ${accessToken}`);
    return { status: response.status, code: response.body.code };
  }

  it('csrf, cookie and bearer login, refresh, sessions, revoke one, logout-all, logout', async () => {
    const browser = new Browser(url, url);

    const csrf = await browser.get('/auth/csrf');
    expect(csrf.status).toBe(200);
    expect(csrf.body).toEqual({ csrfToken: browser.cookie(CSRF_COOKIE) });

    // Login CSRF: a cookie-mode login without the token is refused.
    const forged = await request(url).post('/auth/login').set('Origin', url).send({ email, password: PASSWORD });
    expect({ status: forged.status, code: forged.body.code }).toEqual({ status: 403, code: 'csrf_failed' });
    const wrong = await browser.send('post', '/auth/login', { email, password: 'not the password' });
    expect({ status: wrong.status, code: wrong.body.code }).toEqual({ status: 401, code: 'invalid_credentials' });

    const login = await browser.send('post', '/auth/login', { email, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(login.body).toEqual({
      user: { id: expect.any(String), email, roles: ['user'] },
      session: { id: expect.any(String), expiresAt: expect.any(String) },
      csrfToken: browser.cookie(CSRF_COOKIE),
      expiresIn: expect.any(Number),
    });
    expect(browser.cookieAttributes(login, ACCESS_COOKIE)).toMatch(/; Path=\/; .*HttpOnly; Secure; SameSite=Lax$/);
    expect(browser.cookieAttributes(login, REFRESH_COOKIE)).toMatch(/; Path=\/auth; .*HttpOnly; Secure; SameSite=Strict$/);
    const cookieSession = login.body.session.id as string;
    expect(await revokedReason(cookieSession)).toBeNull();

    const refreshed = await browser.send('post', '/auth/refresh');
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.session.id).toBe(cookieSession);
    expect(refreshed.body.user).toEqual(expect.objectContaining({ id: login.body.user.id, roles: ['user'] }));

    const phone = await bearerLogin();
    const rotated = await request(url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: phone.refreshToken }).expect(200);
    expect(rotated.body.refreshToken).not.toBe(phone.refreshToken);

    const list = await browser.get('/auth/sessions');
    expect(list.status).toBe(200);
    expect(list.headers['cache-control']).toBe('no-store');
    expect(list.body).toEqual([
      expect.objectContaining({ id: cookieSession, current: true }),
      expect.objectContaining({ id: phone.sessionId, current: false }),
    ]);

    expect((await browser.send('delete', `/auth/sessions/${phone.sessionId}`)).status).toBe(204);
    expect(await revokedReason(phone.sessionId)).toBe('user_revoked');
    expect(await statusWith(rotated.body.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    const notFound = await browser.send('delete', `/auth/sessions/${phone.sessionId}`);
    expect({ status: notFound.status, code: notFound.body.code }).toEqual({ status: 404, code: 'session_not_found' });

    const laptop = await bearerLogin();
    const keep = await browser.send('post', '/auth/logout-all', { keepCurrent: true });
    expect(keep.status).toBe(204);
    expect(await revokedReason(laptop.sessionId)).toBe('logout_all');
    expect(await statusWith(laptop.accessToken)).toEqual({ status: 401, code: 'session_revoked' });
    expect((await browser.get('/auth/sessions')).body).toEqual([expect.objectContaining({ id: cookieSession })]);

    const invalid = await browser.send('post', '/auth/logout-all', { keepCurrent: 'yes' });
    expect(invalid.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: ['keepCurrent must be a boolean value'],
      code: 'validation_failed',
      fields: ['keepCurrent'],
    });

    const logout = await browser.send('post', '/auth/logout');
    expect(logout.status).toBe(204);
    expect(logout.headers['clear-site-data']).toBe('"cookies"');
    expect(await revokedReason(cookieSession)).toBe('logout');
    expect(browser.cookie(ACCESS_COOKIE)).toBeUndefined();
    const after = await browser.get('/auth/sessions');
    expect({ status: after.status, code: after.body.code }).toEqual({ status: 401, code: 'token_missing' });

    // The last bearer session, ended by logout-all without keepCurrent.
    const last = await bearerLogin();
    const other = await bearerLogin();
    await request(url).post('/auth/logout-all').set('Authorization', `Bearer ${last.accessToken}`).expect(204);
    for (const login of [last, other]) expect(await revokedReason(login.sessionId)).toBe('logout_all');
  });
});

describe('README quick start', () => {
  it('shows quickstart.module.ts exactly as the test above runs it', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.split(/^## /m).find((part) => part.startsWith('Quick start'));
    expect(section).toBeDefined();
    const block = /```ts\n([\s\S]*?)```/.exec(section ?? '')?.[1];
    const module = await readFile(join(__dirname, 'quickstart.module.ts'), 'utf8');
    expect(block).toBe(module);
  });
});
