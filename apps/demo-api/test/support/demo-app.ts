import type { INestApplication, LoggerService } from '@nestjs/common';
import { FakeClock } from '@tessera/session/testing';
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { startApp } from '../../src/app/bootstrap';
import { loadConfig } from '../../src/app/config/app-config';
import { testSessionStore, testStoreEnv } from './test-store';
import type { TestSessionStore } from './test-store';
import { testHttpAdapter, testPlatformEnv } from './test-platform';
import { TEST_WEB_ROOT } from './demo-page';

/** A running demo app on a free port, its clock, and a way to stop it. */
export interface DemoApp {
  app: INestApplication;
  url: string;
  clock: FakeClock;
  jwtSecret: string;
  sessionSecret: string;
  /** Where its sessions are: the run's store (TESSERA_TEST_SESSION_STORE), unless `env` chose another. */
  store: TestSessionStore;
  close(): Promise<void>;
}

/** How `startDemoApp` builds the app besides its environment. */
export interface DemoAppOptions {
  /** Where the app logs; by default Nest's console logger, errors and warnings only. */
  logger?: LoggerService;
}

/**
 * Starts the demo app against the test database with a fake clock set to now, its
 * sessions on the run's store (on Redis, under this test file's key prefix: the apps of
 * one file share their sessions, as they share the database) and on the run's HTTP
 * platform (TESSERA_TEST_HTTP_ADAPTER). `env` comes last, so a test can still choose.
 */
export async function startDemoApp(env: Record<string, string> = {}, options: DemoAppOptions = {}): Promise<DemoApp> {
  const databaseUrl = process.env.TESSERA_TEST_DATABASE_URL;
  if (!databaseUrl) throw new Error('TESSERA_TEST_DATABASE_URL is not set: run through the demo-api Jest config');
  const jwtSecret = randomBytes(32).toString('base64url');
  const sessionSecret = randomBytes(32).toString('base64url');
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    PORT: '0',
    JWT_SECRET: jwtSecret,
    SESSION_SECRET: sessionSecret,
    // The page the global setup built, wherever Jest runs from.
    WEB_ROOT: TEST_WEB_ROOT,
    ...testStoreEnv(),
    ...testPlatformEnv(),
    ...env,
  });
  const clock = new FakeClock(Date.now());
  const app = await startApp(config, { clock, logger: options.logger ?? ['error', 'warn'] });
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, clock, jwtSecret, sessionSecret, store: config.store.kind, close: () => app.close() };
}

/** What a bearer-mode login answers. */
export interface BearerLogin {
  email: string;
  accessToken: string;
  refreshToken: string;
  session: { id: string; expiresAt: string };
  user: { id: string; email: string; roles: string[] };
}

/** Registers a new user (unique email from `label`) and logs it in in bearer mode. */
export async function bearerSignup(url: string, label: string, password: string): Promise<BearerLogin> {
  const email = uniqueEmail(label);
  await request(url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password }).expect(201);
  const login = await bearerLogin(url, email, password).expect(200);
  return { email, ...login.body };
}

/** A bearer-mode login request, for the caller to expect on and read. */
export function bearerLogin(url: string, email: string, password: string): request.Test {
  return request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password });
}

/** A bearer-mode refresh request, for the caller to expect on and read. */
export function bearerRefresh(url: string, refreshToken: string): request.Test {
  return request(url).post('/auth/refresh').set('X-Auth-Mode', 'bearer').send({ refreshToken });
}

/** A unique email for one test. */
export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomBytes(6).toString('hex')}@example.com`;
}

export { testSessionStore, testHttpAdapter };

/**
 * What the HTTP tests run against, for their titles: `real PostgreSQL`, or `real Redis and
 * PostgreSQL` (sessions on Redis), and `on Fastify` when the run is on Fastify.
 */
export const REAL_BACKENDS =
  (testSessionStore() === 'redis' ? 'real Redis and PostgreSQL' : 'real PostgreSQL') + (testHttpAdapter() === 'fastify' ? ' on Fastify' : '');
export { parseSetCookies } from '@tessera/testing-support';
export type { SetCookie } from '@tessera/testing-support';
