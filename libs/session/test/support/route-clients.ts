/// <reference types="jest" />
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import type { Response } from 'supertest';
import { CookieJar } from '@tessera/testing-support';

/** The page origin the route tests' browser sends (the apps allow it). */
export const ROUTES_ORIGIN = 'https://app.example';
const CSRF_COOKIE = '__Host-tessera-csrf';

type HttpServer = ReturnType<INestApplication['getHttpServer']>;

/** A browser in cookie mode: keeps its cookies, sends the CSRF header and the page's origin. */
export class Browser {
  readonly jar = new CookieJar();

  constructor(
    private readonly http: HttpServer,
    private readonly prefix = '/auth',
  ) {}

  async get(path: string): Promise<Response> {
    return this.jar.absorb(await request(this.http).get(path).set('Cookie', this.jar.header(path)));
  }

  async send(method: 'post' | 'delete', path: string, body?: object): Promise<Response> {
    let pending = request(this.http)[method](path).set('Cookie', this.jar.header(path)).set('Origin', ROUTES_ORIGIN);
    const token = this.jar.get(CSRF_COOKIE);
    if (token) pending = pending.set('X-CSRF-Token', token);
    return this.jar.absorb(await (body === undefined ? pending : pending.send(body)));
  }

  /** `GET csrf`, then the app's `POST /auth/login` as `user`. */
  async login(user = 'user-1'): Promise<Response> {
    await this.get(`${this.prefix}/csrf`);
    return this.send('post', '/auth/login', { user });
  }
}

/** A bearer-mode login: tokens and session id. */
export async function bearerLogin(
  http: HttpServer,
  user = 'user-1',
): Promise<{ accessToken: string; refreshToken: string; sessionId: string }> {
  const response = await request(http).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ user }).expect(200);
  return { accessToken: response.body.accessToken, refreshToken: response.body.refreshToken, sessionId: response.body.session.id };
}
