// Starts and stops the built demo app (dist/apps/demo-api/main.js) as a child process.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from './http.mjs';
import { freePort, monotonicMicros, sleep } from './util.mjs';

const QUERY_COUNTER = fileURLToPath(new URL('./pg-query-counter.cjs', import.meta.url));

/** Only what a process needs from our environment: nothing that could change the app's setup. */
function baseEnv() {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'];
  return Object.fromEntries(keep.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]));
}

/**
 * The demo's environment for the benchmark (see DEMO-API.md). With `redis` ({ url,
 * prefix }) sessions, their revocation feed and the login-attempt counters live in Redis
 * under that key prefix (SESSION_STORE=redis); users and the audit trail stay in PostgreSQL.
 * `httpAdapter` 'fastify' starts it on Fastify (HTTP_ADAPTER); Express otherwise.
 */
export function appEnv({ databaseUrl, secrets, revocationMode, port = 0, redis, httpAdapter = 'express' }) {
  return {
    ...baseEnv(),
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: databaseUrl,
    JWT_SECRET: secrets.jwt,
    SESSION_SECRET: secrets.session,
    REVOCATION_MODE: revocationMode,
    HTTP_ADAPTER: httpAdapter,
    BENCH_ROUTES: 'true',
    CLEANUP_CRON: 'off',
    MAX_SESSIONS_PER_USER: '0',
    LOGIN_RATE_LIMIT: '1000000',
    ...(redis
      ? { SESSION_STORE: 'redis', REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix }
      : { SESSION_STORE: 'postgres' }),
    // COOKIE_SECURE=false is refused in production, so cookies keep their __Host- names;
    // the bench sends the Cookie header itself, so the Secure flag does not matter here.
  };
}

function tail(file, lines = 20) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * Starts the app on a free port and waits for GET /health to answer 200.
 * `cpuProfDir` adds --cpu-prof (the profile is written when the process exits).
 * `preload` lists the scripts given to `node --require` (default: the query counter), then `extraPreload`.
 */
export async function startApp({ projectDir, logDir, name, env, cpuProfDir, preload = [QUERY_COUNTER], extraPreload = [] }) {
  const port = await freePort();
  const counterPort = await freePort();
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const args = [
    ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []),
    ...[...preload, ...extraPreload].flatMap((script) => ['--require', script]),
    join(projectDir, 'dist/apps/demo-api/main.js'),
  ];
  const child = spawn(process.execPath, args, {
    cwd: projectDir,
    env: { ...env, PORT: String(port), BENCH_QUERY_COUNTER_PORT: String(counterPort) },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const startedAt = monotonicMicros();
  let exited = null;
  const exit = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const counterUrl = `http://127.0.0.1:${counterPort}/`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`${name} exited during start (${JSON.stringify(exited)}); log ${logFile}:\n${tail(logFile)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer /health within 60 s; log ${logFile}:\n${tail(logFile)}`);
    }
    const ok = await request(url, 'GET', '/health').then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) break;
    await sleep(100);
  }
  return {
    name,
    url,
    pid: child.pid,
    /** The query counter (bench/lib/pg-query-counter.cjs): GET answers { total, byKind }. */
    counterUrl,
    logFile,
    startedAt,
    profile: cpuProfDir ? join(cpuProfDir, `${name}.cpuprofile`) : undefined,
    /** Queries the app has sent through node-postgres so far: { total, byKind }. */
    async queries() {
      const response = await request(counterUrl, 'GET', '/');
      if (response.status !== 200) throw new Error(`query counter of ${name} answered ${response.status}`);
      return response.body;
    },
    /** SIGTERM, then SIGKILL after 20 s; resolves to the exit status. */
    async stop() {
      if (exited) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Runs `node main.js cleanup` once with `env`; resolves to its log text (log `<name>.log`) and exit code. */
export function runCleanup({ projectDir, logDir, env, cpuProfDir, name = 'cleanup' }) {
  const logFile = join(logDir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const args = [
    ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : []),
    join(projectDir, 'dist/apps/demo-api/main.js'),
    'cleanup',
  ];
  const child = spawn(process.execPath, args, { cwd: projectDir, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, log: readFileSync(logFile, 'utf8'), logFile }));
  });
}
