import type { INestApplication } from '@nestjs/common';
import { freePorts } from '@tessera/testing-support';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Client } from 'pg';
import request from 'supertest';
import { startApp } from '../../../src/app/bootstrap';
import { loadConfig } from '../../../src/app/config/app-config';
import { TEST_WEB_ROOT } from '../../support/demo-page';

/** One request the demo app served, as its HTTP server saw it. */
export interface ServedRequest {
  method: string;
  /** Path and query. */
  url: string;
  origin: string | undefined;
  /** The names (never the values) of the cookies the request carried. */
  cookies: string[];
  /** 0 until the response is finished. */
  status: number;
  startedAt: number;
}

/** The demo app as the browser tests run it, with a record of the requests it served and a database client. */
export interface BrowserDemo {
  app: INestApplication;
  port: number;
  /** http://localhost:<port>: the origin the browser opens (a secure context, so `__Host-` cookies work over http). */
  url: string;
  /** http://127.0.0.1:<port>: the same server under a different site, for the cross-site attacker. */
  ipUrl: string;
  /** Every request served, in arrival order (counted on the server, not in the browser). */
  served: ServedRequest[];
  /** The test database (sessions, users). */
  db: Client;
  /** The `POST /auth/refresh` requests served so far. */
  refreshes(): ServedRequest[];
  close(): Promise<void>;
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/**
 * Starts the demo app from source for a browser: Express, sessions in PostgreSQL, the
 * real clock (Chromium keeps real time, so the server must too), default cookie
 * settings (`Secure`, `__Host-`/`__Secure-` names) and default ALLOWED_ORIGINS, which
 * follow PORT: the port is chosen before the app starts so that they name it.
 */
export async function startBrowserDemo(env: Record<string, string> = {}): Promise<BrowserDemo> {
  const databaseUrl = process.env.TESSERA_TEST_DATABASE_URL;
  if (!databaseUrl) throw new Error('TESSERA_TEST_DATABASE_URL is not set: run through apps/demo-api/jest.browser.config.ts');
  let app: INestApplication | undefined;
  let port = 0;
  // A free port may be taken between the probe and the listen: try a few.
  for (let attempt = 0; app === undefined; attempt++) {
    [port] = await freePorts(1);
    const config = loadConfig({
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET: randomBytes(32).toString('base64url'),
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      HTTP_ADAPTER: 'express',
      SESSION_STORE: 'postgres',
      // The page the global setup built.
      WEB_ROOT: TEST_WEB_ROOT,
      ...env,
    });
    try {
      app = await startApp(config, { logger: ['error', 'warn'] });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 4) throw error;
    }
  }
  const served: ServedRequest[] = [];
  const server = app.getHttpServer() as Server;
  // First listener: it sees every request before the app answers it.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const cookies = (req.headers.cookie ?? '')
      .split(';')
      .map((pair) => pair.split('=')[0].trim())
      .filter(Boolean);
    const entry: ServedRequest = { method: req.method ?? '', url: req.url ?? '', origin: req.headers.origin, cookies, status: 0, startedAt: Date.now() };
    served.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
  });
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const started = app;
  return {
    app: started,
    port,
    url: `http://localhost:${port}`,
    ipUrl: `http://127.0.0.1:${port}`,
    served,
    db,
    refreshes: () => served.filter((entry) => entry.method === 'POST' && pathOf(entry.url) === '/auth/refresh'),
    close: async () => {
      await db.end();
      await started.close();
    },
  };
}

/** A unique email for one test. */
export function uniqueEmail(label: string): string {
  return `${label}-${randomBytes(5).toString('hex')}@example.com`;
}

/** Registers a user over HTTP in bearer mode (no browser, no CSRF), so that a test can log in through the page. */
export async function registerUser(demo: BrowserDemo, email: string, password: string): Promise<void> {
  await request(demo.ipUrl).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password }).expect(201);
}

/**
 * True when `email` can log in with `password` (a bearer-mode login, outside the
 * browser). The session it opens is logged out at once, so that checking does not push
 * the user's real sessions out (MAX_SESSIONS_PER_USER).
 */
export async function canLogIn(demo: BrowserDemo, email: string, password: string): Promise<boolean> {
  const response = await request(demo.ipUrl).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password });
  if (response.status !== 200 && response.status !== 401) throw new Error(`login answered ${response.status}: ${response.text}`);
  if (response.status === 401) return false;
  const { accessToken } = response.body as { accessToken: string };
  await request(demo.ipUrl).post('/auth/logout').set('Authorization', `Bearer ${accessToken}`).expect(204);
  return true;
}

/** The user's stored password hash: unchanged means no password change went through. */
export async function passwordHash(demo: BrowserDemo, email: string): Promise<string> {
  const { rows } = await demo.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [email]);
  if (!rows[0]) throw new Error('no such user');
  return rows[0].password_hash;
}

/** A session's row in `tessera_sessions`. */
export interface SessionRow {
  generation: number;
  revokedAt: Date | null;
  revokedReason: string | null;
}

/** Reads a session's row; undefined when it does not exist. */
export async function sessionRow(demo: BrowserDemo, id: string): Promise<SessionRow | undefined> {
  const { rows } = await demo.db.query<{ generation: number; revoked_at: Date | null; revoked_reason: string | null }>(
    'SELECT generation, revoked_at, revoked_reason FROM tessera_sessions WHERE id = $1',
    [id],
  );
  return rows[0] && { generation: rows[0].generation, revokedAt: rows[0].revoked_at, revokedReason: rows[0].revoked_reason };
}

/**
 * Polls `check` until it returns a value other than undefined, or fails after
 * `timeoutMs` naming `what`. Generous bounds, short steps: the tests wait on the
 * state they need, never for a fixed time.
 */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
