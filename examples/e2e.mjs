#!/usr/bin/env node
// The e2e of an example app, run from the app's directory (`npm run e2e`) after `npm run build`:
// it creates a fresh database on the PostgreSQL server of DATABASE_URL (default
// postgres://postgres@127.0.0.1:5432/test; only the server is used), starts the compiled
// app (`node dist/main.js`) on a free port, speaks HTTP to it in bearer mode, stops it with
// SIGTERM and drops the database. Any failure exits non-zero. Plain Node, no test runner,
// so the apps need nothing but what they ship with.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const appDir = process.cwd();
const { name: appName, dependencies } = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
// The app's own pg, as installed next to it.
const { Client } = createRequire(join(appDir, 'package.json'))('pg');

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
const PASSWORD = 'correct horse battery';

/** Fails the run with a message; the caller's `finally` stops the app and drops the database. */
class Failure extends Error {}

function check(condition, message) {
  if (!condition) throw new Failure(message);
}

/** The server's maintenance database URL and a fresh database's URL, both from DATABASE_URL. */
function databaseUrls() {
  const base = new URL(process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test');
  const name = `tessera_example_${randomBytes(6).toString('hex')}`;
  const admin = new URL(base);
  admin.pathname = '/postgres';
  const own = new URL(base);
  own.pathname = `/${name}`;
  return { name, admin: admin.toString(), own: own.toString() };
}

async function withAdmin(url, work) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The running app: its URL once it says it listens, its output, and a clean stop. */
function startApp(env) {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: appDir,
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Failure(`the app did not listen within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const onData = (chunk) => {
      output += chunk;
      const match = /listening on (http:\/\/[^\s;]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1].replace('[::1]', '127.0.0.1'));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Failure(`the app exited before listening (code ${code}, signal ${signal})`));
    });
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  return {
    listening,
    output: () => output,
    /** SIGTERM, then waits for the exit; a clean stop ran Nest's shutdown hooks and exited 0 or on the signal. */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, STOP_TIMEOUT_MS, 'timeout')));
      const result = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (result === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        throw new Failure(`the app did not stop within ${STOP_TIMEOUT_MS / 1000} s of SIGTERM`);
      }
      return result;
    },
  };
}

/** One HTTP exchange: status, parsed JSON body (or null) and headers. */
async function call(base, method, path, { token, body, bearerMode } = {}) {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (bearerMode) headers['x-auth-mode'] = 'bearer';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(new URL(path, base), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = { unparsed: text.slice(0, 200) };
  }
  return { status: response.status, body: json, headers: response.headers };
}

function expectStatus(response, status, what, code) {
  check(
    response.status === status && (code === undefined || response.body?.code === code),
    `${what}: expected ${status}${code ? ` ${code}` : ''}, got ${response.status} ${JSON.stringify(response.body)}`,
  );
}

/** The scenario of the brief: login, a guarded route, @Roles, refresh, logout, the old token refused. */
async function scenario(base, { user: ada, admin: grace }) {

  expectStatus(await call(base, 'GET', '/health'), 200, 'GET /health (public)');
  for (const email of [ada, grace]) {
    expectStatus(await call(base, 'POST', '/auth/register', { body: { email, password: PASSWORD }, bearerMode: true }), 201, `register ${email}`);
  }
  expectStatus(await call(base, 'POST', '/auth/login', { body: { email: ada, password: 'wrong password' }, bearerMode: true }), 401, 'login with a wrong password', 'invalid_credentials');

  const login = await call(base, 'POST', '/auth/login', { body: { email: ada, password: PASSWORD }, bearerMode: true });
  expectStatus(login, 200, 'bearer login');
  const { accessToken, refreshToken, tokenType, user, session } = login.body;
  check(typeof accessToken === 'string' && typeof refreshToken === 'string' && tokenType === 'Bearer', `bearer login body: ${Object.keys(login.body)}`);
  check(login.headers.get('set-cookie') === null, 'a bearer login sets no cookie');
  check(user?.email === ada && JSON.stringify(user.roles) === '["user"]', `login user: ${JSON.stringify(user)}`);

  expectStatus(await call(base, 'GET', '/api/me'), 401, 'guarded route without a token', 'token_missing');
  expectStatus(await call(base, 'GET', '/api/me', { token: 'not.a.token' }), 401, 'guarded route with a bad token', 'token_invalid');
  const me = await call(base, 'GET', '/api/me', { token: accessToken });
  expectStatus(me, 200, 'guarded route (@CurrentUser) with the access token');
  check(me.body.id === user.id && me.body.sessionId === session.id, `@CurrentUser / @CurrentSession: ${JSON.stringify(me.body)}`);

  expectStatus(await call(base, 'GET', '/api/admin/report', { token: accessToken }), 403, "@Roles('admin') for a plain user");
  const admin = await call(base, 'POST', '/auth/login', { body: { email: grace, password: PASSWORD }, bearerMode: true });
  expectStatus(admin, 200, 'admin login');
  check(admin.body.user.roles.includes('admin'), `admin roles: ${JSON.stringify(admin.body.user)}`);
  const report = await call(base, 'GET', '/api/admin/report', { token: admin.body.accessToken });
  expectStatus(report, 200, "@Roles('admin') for an admin");
  check(report.body.generatedFor === admin.body.user.id, `admin report: ${JSON.stringify(report.body)}`);

  const refreshed = await call(base, 'POST', '/auth/refresh', { body: { refreshToken }, bearerMode: true });
  expectStatus(refreshed, 200, 'bearer refresh');
  check(refreshed.body.refreshToken !== refreshToken && refreshed.body.session.id === session.id, 'refresh rotates the token of the same session');
  expectStatus(await call(base, 'GET', '/api/me', { token: refreshed.body.accessToken }), 200, 'guarded route with the refreshed access token');

  expectStatus(await call(base, 'POST', '/auth/logout', { token: refreshed.body.accessToken }), 204, 'logout');
  // Cached revocation mode: this instance refuses the session's access tokens at once.
  for (const [what, token] of [
    ['the access token of the login', accessToken],
    ['the refreshed access token', refreshed.body.accessToken],
  ]) {
    expectStatus(await call(base, 'GET', '/api/me', { token }), 401, `${what} after logout`, 'session_revoked');
  }
  const after = await call(base, 'POST', '/auth/refresh', { body: { refreshToken: refreshed.body.refreshToken }, bearerMode: true });
  check(after.status === 401, `refresh after logout: expected 401, got ${after.status} ${JSON.stringify(after.body)}`);
  // The other user's session is untouched.
  expectStatus(await call(base, 'GET', '/api/admin/report', { token: admin.body.accessToken }), 200, "the admin's session after the user's logout");
}

async function main() {
  const db = databaseUrls();
  const suffix = randomBytes(4).toString('hex');
  const emails = { user: `ada-${suffix}@example.com`, admin: `grace-${suffix}@example.com` };
  await withAdmin(db.admin, (client) => client.query(`CREATE DATABASE "${db.name}"`));
  let app;
  let failed = false;
  try {
    app = startApp({
      DATABASE_URL: db.own,
      PORT: '0',
      HOST: '127.0.0.1',
      JWT_SECRET: randomBytes(32).toString('base64url'),
      SESSION_SECRET: randomBytes(32).toString('base64url'),
      ADMIN_EMAILS: emails.admin,
    });
    await scenario(await app.listening, emails);
    const { code, signal } = await app.stop();
    check(code === 0 || signal === 'SIGTERM', `the app stopped with code ${code}, signal ${signal}`);
    check(/shut down on SIGTERM/.test(app.output()), 'the app did not run its shutdown hooks on SIGTERM');
    const complaints = app.output().split('\n').filter((line) => /\b(WARN|ERROR)\b/.test(line));
    check(complaints.length === 0, `the app logged warnings or errors:\n${complaints.join('\n')}`);
    if (dependencies['@nestjs/schedule']) {
      check(/cron jobs: .*tessera-session-cleanup/.test(app.output()), "the session cleanup job is not on the app's SchedulerRegistry");
    }
    console.log(`${appName}: e2e passed on Node ${process.version} (login, guarded route, @Roles 403/200, refresh, logout, token refused after logout, clean stop)`);
  } catch (error) {
    failed = true;
    console.error(`${appName}: e2e FAILED: ${error instanceof Failure ? error.message : (error?.stack ?? error)}`);
    if (app) console.error(`--- app output ---\n${app.output().slice(-4000)}\n---`);
  } finally {
    if (app) await app.stop().catch(() => undefined);
    await withAdmin(db.admin, (client) => client.query(`DROP DATABASE IF EXISTS "${db.name}" WITH (FORCE)`));
  }
  process.exitCode = failed ? 1 : 0;
}

await main();
