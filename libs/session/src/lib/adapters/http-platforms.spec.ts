import type { INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { Response } from 'supertest';
import { CookieJar } from '@tessera/testing-support';
import { FakeClock } from '../../testing';
import { CsrfGuard } from '../guards/csrf.guard';
import { SessionGuard } from '../guards/session.guard';
import { SessionRoutesModule } from '../routes/session-routes.module';
import { SessionModule } from '../session.module';
import { TestLoginController } from '../../../test/support/login.controller';

const ORIGIN = 'https://app.example';
const CSRF_COOKIE = '__Host-tessera-csrf';
const ACCESS_COOKIE = '__Host-tessera-at';
const REFRESH_COOKIE = '__Secure-tessera-rt';
/** The response headers the session contract speaks about. */
const HEADERS = ['cache-control', 'pragma', 'clear-site-data', 'www-authenticate', 'content-type'];

/** The same module on either platform, nothing told about which: listening on port 0. */
async function listen(platform: 'express' | 'fastify'): Promise<{ app: INestApplication; url: string }> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      SessionModule.forRoot({
        isGlobal: true,
        jwtSecret: 'platforms-spec-jwt-secret-0123456789-abcdef',
        sessionSecret: 'platforms-spec-session-secret-0123456789-ab',
        clock: new FakeClock(new Date('2030-01-01T00:00:00.000Z')),
        csrf: { allowedOrigins: [ORIGIN] },
      }),
      SessionRoutesModule.forRoot(),
    ],
    controllers: [TestLoginController],
    providers: [
      { provide: APP_GUARD, useExisting: SessionGuard },
      { provide: APP_GUARD, useExisting: CsrfGuard },
    ],
  }).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: await app.getUrl() };
}

/** One exchange of a transcript. */
interface Exchange {
  step: string;
  status: number;
  code: unknown;
  cookies: string[];
  headers: Record<string, unknown>;
}

/**
 * One exchange as the contract sees it: status, `code`, cookies (values masked unless
 * empty, `Expires` checked against `Max-Age` and the wall clock, then masked) and headers.
 */
function transcript(step: string, response: Response): Exchange {
  const sent = Date.now();
  const raw = response.headers['set-cookie'] as unknown as string[] | undefined;
  const cookies = (raw ?? []).map((cookie) => {
    const [pair, ...attributes] = cookie.split('; ');
    const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
    const maxAge = attributes.find((attribute) => attribute.startsWith('Max-Age='));
    const expires = attributes.find((attribute) => attribute.startsWith('Expires='));
    if (maxAge && expires) {
      const expected = sent + Number(maxAge.slice('Max-Age='.length)) * 1000;
      expect(Math.abs(Date.parse(expires.slice('Expires='.length)) - expected)).toBeLessThan(60_000);
    }
    const masked = attributes.map((attribute) => (attribute === expires && maxAge ? 'Expires=<now + Max-Age>' : attribute));
    return [`${name}=${value === '' ? '' : '<value>'}`, ...masked].join('; ');
  });
  const headers = Object.fromEntries(HEADERS.map((name) => [name, response.headers[name]]));
  return { step, status: response.status, code: response.body?.code, cookies, headers };
}

/** Runs every session flow against one app, returning its transcript. */
async function flows(url: string): Promise<Exchange[]> {
  const out: Exchange[] = [];
  const jar = new CookieJar();
  const record = (step: string, response: Response) => {
    jar.absorb(response);
    out.push(transcript(step, response));
    return response;
  };
  const unsafe = (path: string, csrf = true) => {
    const pending = request(url).post(path).set('Cookie', jar.header(path)).set('Origin', ORIGIN);
    return csrf ? pending.set('X-CSRF-Token', jar.get(CSRF_COOKIE) ?? '') : pending;
  };

  record('csrf', await request(url).get('/auth/csrf'));
  record('login refused without the CSRF header', await unsafe('/auth/login', false).send({ user: 'ada' }));
  record('cookie login', await unsafe('/auth/login').send({ user: 'ada' }));
  record('sessions by cookie', await request(url).get('/auth/sessions').set('Cookie', jar.header('/auth/sessions')));
  record('refresh refused without the CSRF header', await unsafe('/auth/refresh', false));
  record('refresh', await unsafe('/auth/refresh'));
  const access = jar.get(ACCESS_COOKIE);
  record('access cookie sent twice', await request(url).get('/auth/sessions').set('Cookie', `${ACCESS_COOKIE}=${access}; ${ACCESS_COOKIE}=x`));
  record('logout', await unsafe('/auth/logout'));
  record('after logout', await request(url).get('/auth/sessions').set('Cookie', jar.header('/auth/sessions')));

  const bearer = record('bearer login', await request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ user: 'bob' }));
  const authorization = `Bearer ${bearer.body.accessToken}`;
  record('sessions by bearer', await request(url).get('/auth/sessions').set('Authorization', authorization));
  record('bearer refresh', await request(url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken: bearer.body.refreshToken }));
  record('bad bearer', await request(url).get('/auth/sessions').set('Authorization', 'Bearer nope'));
  record('bearer logout', await request(url).post('/auth/logout').set('Authorization', authorization));
  record('revoked bearer', await request(url).get('/auth/sessions').set('Authorization', authorization));
  record('no credentials', await request(url).get('/auth/sessions'));
  return out;
}

describe('session flows on Express and Fastify (real servers on port 0)', () => {
  const apps: INestApplication[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.close())));

  it('sends the same statuses, codes, cookies and headers on both, with no adapter configured', async () => {
    const express = await listen('express');
    const fastify = await listen('fastify');
    apps.push(express.app, fastify.app);
    const onExpress = await flows(express.url);
    const onFastify = await flows(fastify.url);
    expect(onFastify).toEqual(onExpress);

    // And what both send is the contract (so two equal wrong answers fail too).
    const step = (name: string) => onFastify.find((entry) => entry.step === name) as Exchange;
    const noStore = { 'cache-control': 'no-store', pragma: 'no-cache' };
    expect(step('csrf')).toMatchObject({ status: 200, headers: noStore, cookies: [`${CSRF_COOKIE}=<value>; Path=/; Secure; SameSite=Lax`] });
    expect(step('login refused without the CSRF header')).toMatchObject({ status: 403, code: 'csrf_failed', cookies: [] });
    expect(step('cookie login')).toMatchObject({
      status: 200,
      headers: noStore,
      cookies: [
        `${ACCESS_COOKIE}=<value>; Max-Age=600; Path=/; Expires=<now + Max-Age>; HttpOnly; Secure; SameSite=Lax`,
        `${REFRESH_COOKIE}=<value>; Max-Age=604800; Path=/auth; Expires=<now + Max-Age>; HttpOnly; Secure; SameSite=Strict`,
        expect.stringMatching(new RegExp(`^${CSRF_COOKIE}=<value>; `)),
      ],
    });
    expect(step('sessions by cookie')).toMatchObject({ status: 200, headers: { 'cache-control': 'no-store' } });
    expect(step('refresh refused without the CSRF header')).toMatchObject({ status: 403, code: 'csrf_failed' });
    expect(step('refresh')).toMatchObject({ status: 200, headers: noStore });
    expect(step('refresh').cookies.length).toBe(3);
    expect(step('access cookie sent twice')).toMatchObject({ status: 401, code: 'cookie_conflict' });
    expect(step('logout')).toMatchObject({
      status: 204,
      headers: { ...noStore, 'clear-site-data': '"cookies"' },
      cookies: [
        `${ACCESS_COOKIE}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax`,
        `${REFRESH_COOKIE}=; Path=/auth; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict`,
        expect.stringMatching(new RegExp(`^${CSRF_COOKIE}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; `)),
      ],
    });
    expect(step('after logout')).toMatchObject({ status: 401, code: 'token_missing' });
    expect(step('bearer login')).toMatchObject({ status: 200, headers: noStore, cookies: [] });
    expect(step('sessions by bearer')).toMatchObject({ status: 200 });
    expect(step('bearer refresh')).toMatchObject({ status: 200, cookies: [] });
    for (const name of ['bad bearer', 'revoked bearer']) {
      expect(step(name)).toMatchObject({ status: 401, headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
    }
    expect(step('revoked bearer').code).toBe('session_revoked');
    expect(step('bearer logout')).toMatchObject({ status: 204 });
    expect(step('no credentials')).toMatchObject({ status: 401, code: 'token_missing', headers: { 'www-authenticate': undefined } });
  });
});
