/**
 * The README's promise, `npm start`: build, then run `node dist/apps/demo-api/main.js`
 * as a real process, with or without DATABASE_URL, and stop it with SIGTERM.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { testSessionStore, testStoreEnv } from './support/test-store';
import { testPlatformEnv } from './support/test-platform';

const ROOT = resolve(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/apps/demo-api/main.js');
const BUILD_TIMEOUT_MS = 170_000;
const HEALTH_DEADLINE_MS = 30_000;
const EXIT_DEADLINE_MS = 15_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface RunningApp {
  child: ChildProcess;
  port: number;
  dataDir: string;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves when the process has exited and its pipes are closed. */
  closed: Promise<Exit>;
}

const children: ChildProcess[] = [];
const dataDirs: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

async function freshDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-main-'));
  dataDirs.push(dir);
  return dir;
}

function randomSecret(): string {
  return randomBytes(48).toString('base64url');
}

/** The environment `npm start` would see, minus DATABASE_URL and the session-store variables, plus `extra`. */
function appEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['DATABASE_URL', 'SESSION_STORE', 'REDIS_URL', 'REDIS_KEY_PREFIX', 'STORE_TIMEOUT']) delete env[name];
  // On the run's HTTP platform (TESSERA_TEST_HTTP_ADAPTER), as every app the tests start.
  return { ...env, NODE_ENV: 'development', ...testPlatformEnv(), ...extra };
}

/** Spawns `node dist/apps/demo-api/main.js` in its own process group (so afterAll can kill what it started). */
function startMain(env: NodeJS.ProcessEnv, port: number, dataDir: string): RunningApp {
  const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const closed = new Promise<Exit>((resolveExit) => {
    child.on('close', (code, signal) => resolveExit({ code, signal }));
  });
  return { child, port, dataDir, output: () => output, closed };
}

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls GET /health until it answers (any status); fails early if the process exits. */
async function waitForHealth(app: RunningApp): Promise<{ status: number; body: unknown }> {
  const deadline = Date.now() + HEALTH_DEADLINE_MS;
  let exited: Exit | undefined;
  void app.closed.then((exit) => (exited = exit));
  for (;;) {
    if (exited) throw new Error(`main.js exited (${JSON.stringify(exited)}) before answering:\n${app.output()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${app.port}/health`, { signal: AbortSignal.timeout(2_000) });
      return { status: response.status, body: await response.json() };
    } catch {
      if (Date.now() > deadline) throw new Error(`GET /health did not answer within ${HEALTH_DEADLINE_MS} ms:\n${app.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function stop(app: RunningApp, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> {
  app.child.kill(signal);
  return withDeadline(app.closed, EXIT_DEADLINE_MS, 'exit after SIGTERM');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolveAccepts) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveAccepts(true);
    });
    socket.once('error', () => resolveAccepts(false));
  });
}

/** pid and port of the embedded server, from its postmaster.pid. */
function postmaster(dataDir: string): { pid: number; port: number } {
  const lines = readFileSync(join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
  return { pid: Number(lines[0]), port: Number(lines[3]) };
}

function expectNoSecretIn(output: string, secrets: string[]): void {
  for (const secret of secrets.filter(Boolean)) {
    // Not toContain: on failure Jest would print the secret.
    expect(output.includes(secret)).toBe(false);
  }
}

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_ENV; // Jest sets test; `npm start` runs with the user's environment.
  await new Promise<void>((resolveBuild, reject) => {
    execFile(
      'npx',
      ['nx', 'run', 'demo-api:build'],
      { cwd: ROOT, env, timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => (error ? reject(new Error(`build failed: ${error.message}\n${stdout}\n${stderr}`)) : resolveBuild()),
    );
  });
  expect(existsSync(MAIN)).toBe(true);
}, 180_000);

afterAll(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL'); // the whole group: main.js and the postgres it started
      } catch {
        // already gone
      }
    }
  }
  for (const dir of dataDirs) {
    if (existsSync(join(dir, 'pg', 'postmaster.pid'))) {
      const { pid } = postmaster(dir);
      if (pid > 0 && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    await rm(dir, { recursive: true, force: true });
  }
}, 30_000);

// Skipped, with the reason printed by the global setup, where DATABASE_URL is set and no
// embedded server can start here.
const itEmbedded = process.env.TESSERA_EMBEDDED_UNAVAILABLE ? it.skip : it;

describe('node dist/apps/demo-api/main.js', () => {
  itEmbedded('without DATABASE_URL: starts an embedded server in DATA_DIR, serves /health, and exits 0 on SIGTERM, stopping it', async () => {
    const secrets = { JWT_SECRET: randomSecret(), SESSION_SECRET: randomSecret() };
    const port = await freePort();
    const dataDir = await freshDataDir();
    const app = startMain(appEnv({ PORT: String(port), DATA_DIR: dataDir, ...secrets }), port, dataDir);

    const health = await waitForHealth(app);
    // `npm start` as the README has it: sessions in the embedded PostgreSQL too.
    expect(health).toEqual({ status: 200, body: { status: 'ok', database: 'up', store: 'up', storeType: 'postgres' } });
    expect(existsSync(join(dataDir, 'pg', 'PG_VERSION'))).toBe(true);
    const server = postmaster(dataDir);
    expect(isAlive(server.pid)).toBe(true);
    const dbPassword = readFileSync(join(dataDir, 'password'), 'utf8').trim();

    expect(await stop(app)).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
    expect(isAlive(server.pid)).toBe(false);
    expect(await portAccepts(server.port)).toBe(false);
    expect(await portAccepts(port)).toBe(false);
    expectNoSecretIn(app.output(), [secrets.JWT_SECRET, secrets.SESSION_SECRET, dbPassword]);
  }, 60_000);

  itEmbedded('keeps the embedded data across restarts on the same DATA_DIR', async () => {
    const dataDir = await freshDataDir();
    const marker = randomBytes(8).toString('hex');
    const env = (port: number) => appEnv({ PORT: String(port), DATA_DIR: dataDir, JWT_SECRET: randomSecret(), SESSION_SECRET: randomSecret() });
    const databaseUrl = () => {
      const password = readFileSync(join(dataDir, 'password'), 'utf8').trim();
      return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${postmaster(dataDir).port}/tessera`;
    };

    const firstPort = await freePort();
    const first = startMain(env(firstPort), firstPort, dataDir);
    expect((await waitForHealth(first)).status).toBe(200);
    const writer = new Client({ connectionString: databaseUrl() });
    await writer.connect();
    try {
      await writer.query('CREATE TABLE restart_marker (value text NOT NULL)');
      await writer.query('INSERT INTO restart_marker VALUES ($1)', [marker]);
    } finally {
      await writer.end();
    }
    expect(await stop(first)).toEqual({ code: 0, signal: null });

    const secondPort = await freePort();
    const second = startMain(env(secondPort), secondPort, dataDir);
    expect(await waitForHealth(second)).toEqual({ status: 200, body: { status: 'ok', database: 'up', store: 'up', storeType: 'postgres' } });
    const reader = new Client({ connectionString: databaseUrl() });
    await reader.connect();
    try {
      expect((await reader.query('SELECT value FROM restart_marker')).rows).toEqual([{ value: marker }]);
    } finally {
      await reader.end();
    }
    expect(await stop(second)).toEqual({ code: 0, signal: null });
    expect(existsSync(join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);
  }, 120_000);

  it('refuses to start with a malformed ACCESS_TOKEN_TTL, naming it, before starting any database', async () => {
    const shortSecret = randomBytes(10).toString('hex'); // 20 bytes: also refused, and must not be echoed
    const sessionSecret = randomSecret();
    const port = await freePort();
    const dataDir = await freshDataDir();
    const app = startMain(
      appEnv({ PORT: String(port), DATA_DIR: dataDir, ACCESS_TOKEN_TTL: 'ten', JWT_SECRET: shortSecret, SESSION_SECRET: sessionSecret }),
      port,
      dataDir,
    );

    const exit = await withDeadline(app.closed, EXIT_DEADLINE_MS, 'exit on a bad configuration');
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(app.output()).toContain('ACCESS_TOKEN_TTL');
    expect(app.output()).toContain('JWT_SECRET');
    expectNoSecretIn(app.output(), [shortSecret, sessionSecret]);
    expect(await readdir(dataDir)).toEqual([]);
  }, 30_000);

  it('refuses to start with SESSION_STORE=redis and no REDIS_URL, saying what to set, before starting any database', async () => {
    const port = await freePort();
    const dataDir = await freshDataDir();
    const app = startMain(
      appEnv({ PORT: String(port), DATA_DIR: dataDir, SESSION_STORE: 'redis', JWT_SECRET: randomSecret(), SESSION_SECRET: randomSecret() }),
      port,
      dataDir,
    );
    const exit = await withDeadline(app.closed, EXIT_DEADLINE_MS, 'exit on a bad configuration');
    expect(exit.code).toBe(1);
    expect(app.output()).toContain('SESSION_STORE=redis needs REDIS_URL: set REDIS_URL to a redis:// or rediss:// URL');
    expect(await readdir(dataDir)).toEqual([]);
  }, 30_000);

  it('refuses to start when the Redis server in REDIS_URL does not answer, naming the variable and never the URL', async () => {
    const databaseUrl = process.env.TESSERA_TEST_DATABASE_URL;
    if (!databaseUrl) throw new Error('TESSERA_TEST_DATABASE_URL is not set: run through the demo-api Jest config');
    const [port, nobody] = [await freePort(), await freePort()];
    const dataDir = await freshDataDir();
    const password = randomSecret();
    const app = startMain(
      appEnv({
        PORT: String(port),
        DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        REDIS_URL: `redis://:${password}@127.0.0.1:${nobody}`,
        JWT_SECRET: randomSecret(),
        SESSION_SECRET: randomSecret(),
      }),
      port,
      dataDir,
    );
    const exit = await withDeadline(app.closed, EXIT_DEADLINE_MS, 'exit when Redis is unreachable');
    expect(exit.code).toBe(1);
    expect(app.output()).toContain('The Redis server in REDIS_URL cannot be reached (ECONNREFUSED)');
    expectNoSecretIn(app.output(), [password]);
    expect(await portAccepts(port)).toBe(false);
  }, 30_000);

  it(`with DATABASE_URL: uses that server, creates nothing in DATA_DIR, and exits 0 on SIGTERM (sessions on the run's store: ${testSessionStore()})`, async () => {
    const databaseUrl = process.env.TESSERA_TEST_DATABASE_URL;
    if (!databaseUrl) throw new Error('TESSERA_TEST_DATABASE_URL is not set: run through the demo-api Jest config');
    const secrets = { JWT_SECRET: randomSecret(), SESSION_SECRET: randomSecret() };
    const port = await freePort();
    const dataDir = await freshDataDir();
    const app = startMain(
      appEnv({ PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: databaseUrl, ...secrets, ...testStoreEnv() }),
      port,
      dataDir,
    );

    expect(await waitForHealth(app)).toEqual({
      status: 200,
      body: { status: 'ok', database: 'up', store: 'up', storeType: testSessionStore() },
    });
    // The README's "open http://localhost:3000/": the build made the page, and the process serves it from there.
    const page = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toMatch(/<script type="module" src="\/assets\/app-[0-9a-f]{12}\.js"/);
    // It is really that server: the app's connections show up there under its application_name.
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const rows = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'tessera-demo-api' AND datname = current_database()`,
      );
      expect(rows.rows[0].n).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
    expect(existsSync(join(dataDir, 'pg'))).toBe(false);
    expect(await readdir(dataDir)).toEqual([]);

    expect(await stop(app)).toEqual({ code: 0, signal: null });
    expect(await portAccepts(port)).toBe(false);
    const dbPassword = decodeURIComponent(new URL(databaseUrl).password);
    expectNoSecretIn(app.output(), [secrets.JWT_SECRET, secrets.SESSION_SECRET, dbPassword]);
  }, 60_000);

  it('exits 0 on SIGINT too (Ctrl-C); with LOG_FORMAT=json every line is a JSON object, audit events included', async () => {
    const databaseUrl = process.env.TESSERA_TEST_DATABASE_URL;
    if (!databaseUrl) throw new Error('TESSERA_TEST_DATABASE_URL is not set: run through the demo-api Jest config');
    const port = await freePort();
    const dataDir = await freshDataDir();
    const app = startMain(
      appEnv({
        PORT: String(port),
        DATA_DIR: dataDir,
        DATABASE_URL: databaseUrl,
        JWT_SECRET: randomSecret(),
        SESSION_SECRET: randomSecret(),
        LOG_FORMAT: 'json',
        ...testStoreEnv(),
      }),
      port,
      dataDir,
    );
    expect((await waitForHealth(app)).status).toBe(200);
    const email = `json-log-${randomSecret().slice(0, 8).toLowerCase()}@example.com`;
    const post = (path: string) =>
      fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-auth-mode': 'bearer' },
        body: JSON.stringify({ email, password: 'json log password 123' }),
      });
    expect((await post('/auth/register')).status).toBe(201);
    expect((await post('/auth/login')).status).toBe(200);
    expect(await stop(app, 'SIGINT')).toEqual({ code: 0, signal: null });

    const lines = app.output().trim().split('\n');
    const records = lines.map((line) => JSON.parse(line) as { level: string; context?: string; message: unknown });
    expect(records.every((record) => typeof record.level === 'string')).toBe(true);
    const audit = records.find((record) => record.context === 'Audit');
    expect(audit?.message).toEqual(
      expect.objectContaining({ type: 'session.created', outcome: 'success', sessionFingerprint: expect.any(String) }),
    );
  }, 60_000);
});
