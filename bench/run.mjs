// `npm run bench`: builds the demo app, starts it against PostgreSQL (DATABASE_URL, or an
// embedded server), drives it with autocannon from separate processes, and writes
// docs/benchmarks.md. See docs/benchmarks.md, "How measured", for the method.
//
// Environment (all optional):
//   DATABASE_URL        PostgreSQL server to use (a database tessera_bench_<random> is created and dropped)
//   BENCH_WARMUP        warm-up seconds per load run (default 3)
//   BENCH_DURATION      measured seconds per load run (default 8; interleaved runs round it
//                       up to whole rounds of slices)
//   BENCH_ROUNDS        repetitions of each interleaved run and of the login alternation (default 3)
//   BENCH_SLICE_MS      slice length of the interleaved runs, ms (default 250)
//   BENCH_SLICE_LOG=1   keep each interleaved run's per-slice times and CPU in results.json
//                       (on the run's baseline result, as `sliceLog`)
//   BENCH_CLEANUP_ROWS  expired sessions for the cleanup scenario (default 1000000)
//   BENCH_REDIS_URL     Redis server of the redis-* scenarios (default REDIS_URL, else
//                       redis://127.0.0.1:6379; a standalone server: its INFO commandstats
//                       count the store's round trips); the run's keys live under a prefix
//                       tessera-bench-<random> and are deleted at the end
//   BENCH_REDIS_ROUNDS  rounds of the Redis interleaved runs (default BENCH_ROUNDS)
//   BENCH_REDIS_CLEANUP_ROWS  ended sessions for the redis-cleanup scenario (default 200000)
//   BENCH_SOCKETS       sockets of the socket-close scenario (default 100)
//   BENCH_ONLY          comma list of scenarios: stateless,cached,fastify-cached,strict,refresh,login,propagation,
//                       socket-close,cleanup,redis-cached,redis-strict,redis-refresh,redis-propagation,
//                       redis-cleanup,graphql-me,telemetry
//                       (telemetry: cached GET /api/me and refresh with @opentelemetry/api absent, loaded without
//                       an SDK, and with the metrics and tracing SDKs on; bench/lib/telemetry-scenario.mjs)
//                       (fastify-cached: the cached scenario with the app on Fastify, HTTP_ADAPTER=fastify)
//                       (`redis` stands for all five redis-* scenarios)
//   BENCH_CPU_PROF=1    start the app with --cpu-prof and summarise self time per scenario
//   BENCH_OUT           where to write the report (default docs/benchmarks.md; partial or
//                       profiled runs default to the run's temp directory)
//   BENCH_SKIP_BUILD=1  use the existing dist/apps/demo-api/main.js
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appEnv, runCleanup, startApp } from './lib/app.mjs';
import { graphqlMeScenario } from './lib/graphql-scenario.mjs';
import { telemetryScenario } from './lib/telemetry-scenario.mjs';
import { extraPerRequest, formatExtra, formatSummary, summarize } from './cpu-profile-summary.mjs';
import { expectStatus, login, mapLimit, register, request } from './lib/http.mjs';
import { killLoads, runLoad } from './lib/load-runner.mjs';
import { PgStatSegments } from './lib/pg-stat-segments.mjs';
import { openBenchDatabase } from './lib/postgres.mjs';
import { commandDelta, openBenchRedis, scriptRoundTrips } from './lib/redis.mjs';
import { openPackageStore, writeEndedSessions } from './lib/redis-sessions.mjs';
import { renderReport } from './lib/report.mjs';
import { socketCloseScenario } from './lib/socket-close.mjs';
import { median, percentile, sleep } from './lib/util.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const projectDir = resolve(benchDir, '..');

const number = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`);
  return value;
};

const REDIS_SCENARIOS = ['redis-cached', 'redis-strict', 'redis-refresh', 'redis-propagation', 'redis-cleanup'];
const ALL_SCENARIOS = ['stateless', 'cached', 'fastify-cached', 'strict', 'refresh', 'login', 'propagation', 'socket-close', 'cleanup', ...REDIS_SCENARIOS, 'graphql-me', 'telemetry'];
const only = process.env.BENCH_ONLY
  ? [...new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim()).filter(Boolean).flatMap((s) => (s === 'redis' ? REDIS_SCENARIOS : [s])))]
  : ALL_SCENARIOS;
for (const name of only) {
  if (!ALL_SCENARIOS.includes(name)) throw new Error(`BENCH_ONLY: unknown scenario "${name}" (known: ${ALL_SCENARIOS.join(', ')}, redis)`);
}
const redisWanted = only.some((name) => REDIS_SCENARIOS.includes(name));
const settings = {
  connections: 50,
  warmup: number('BENCH_WARMUP', 3),
  duration: number('BENCH_DURATION', 8),
  rounds: Math.round(number('BENCH_ROUNDS', 3)),
  sliceMs: Math.round(number('BENCH_SLICE_MS', 250)),
  sliceLog: process.env.BENCH_SLICE_LOG === '1',
  loginConnections: 8,
  probeConnections: 10,
  probeRate: 200,
  propagationLogouts: 100,
  propagationPollMs: 1,
  socketCloseSockets: Math.round(number('BENCH_SOCKETS', 100)),
  cleanupRows: Math.round(number('BENCH_CLEANUP_ROWS', 1_000_000)),
  redisRounds: Math.round(number('BENCH_REDIS_ROUNDS', number('BENCH_ROUNDS', 3))),
  redisCleanupRows: Math.round(number('BENCH_REDIS_CLEANUP_ROWS', 200_000)),
  cpuProf: process.env.BENCH_CPU_PROF === '1',
  only,
};
const partial = ALL_SCENARIOS.some((name) => !only.includes(name));

const PASSWORD = 'bench password 0123456789';
const workDir = mkdtempSync(join(os.tmpdir(), 'tessera-bench-'));
const logDir = join(workDir, 'logs');
const profDir = settings.cpuProf ? join(workDir, 'profiles') : undefined;
mkdirSync(logDir, { recursive: true });
if (profDir) mkdirSync(profDir, { recursive: true });

const startedAt = Date.now();
const say = (line) => process.stdout.write(`[bench ${((Date.now() - startedAt) / 1000).toFixed(0).padStart(3)}s] ${line}\n`);

/** A 26-character email, the length the baseline route answers with. */
const benchEmail = () => `bench-${randomBytes(4).toString('hex')}@example.com`;

// Cleanup on Ctrl-C: stop apps and load processes, delete the run's Redis keys, drop the
// database, stop the server.
const running = new Set();
let db;
let pgStat;
let redis;
/** The redis-cleanup scenario's store (the built package): closed first, so that no write outlives the key deletion. */
let packageStore;
let interrupted = false;
let tearingDown;
/**
 * Once per run: a Ctrl-C makes the scenario in progress fail, whose error path tears down
 * too, and must wait for the same teardown rather than exit in the middle of it.
 */
function teardown() {
  tearingDown ??= (async () => {
    killLoads();
    await Promise.allSettled([...running].map((app) => app.stop()));
    await packageStore?.close();
    await redis?.close().catch((error) => say(`could not delete the run's Redis keys: ${error.message}`));
    await db?.close().catch((error) => say(`could not drop the bench database: ${error.message}`));
  })();
  return tearingDown;
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: stopping`);
    teardown().finally(() => process.exit(130));
  });
}

/**
 * Starts the demo; `store` 'redis' puts its sessions in Redis under the run's key prefix,
 * `httpAdapter` 'fastify' runs it on Fastify.
 */
async function start(name, revocationMode, store = 'postgres', httpAdapter = 'express', { env: extraEnv = {}, preload = [] } = {}) {
  const env = { ...appEnv({ databaseUrl: db.url, secrets, revocationMode, redis: redisEnv(store), httpAdapter }), ...extraEnv };
  const app = await startApp({ projectDir, logDir, name, env, cpuProfDir: profDir, extraPreload: preload });
  running.add(app);
  say(
    `started ${name} (${revocationMode}, sessions in ${store === 'redis' ? `Redis, prefix ${redis.prefix}` : 'PostgreSQL'}, ` +
      `${httpAdapter}) on ${app.url}, pid ${app.pid}`,
  );
  return app;
}

function redisEnv(store) {
  return store === 'redis' ? { url: redis.url, prefix: redis.prefix } : undefined;
}

async function stop(app) {
  const status = await app.stop();
  running.delete(app);
  if (status.code !== 0) say(`warning: ${app.name} exited with ${JSON.stringify(status)} (log ${app.logFile})`);
}

/**
 * One interleaved load run against `app`: `spec.routes` take turns in slices of
 * settings.sliceMs within one autocannon run (see bench/lib/interleaved-load.mjs);
 * resolves to { routes: { <name>: result }, ... }.
 */
async function loadInterleaved(app, spec) {
  const run = await runLoad({
    benchDir,
    app,
    args: {
      url: app.url,
      connections: settings.connections,
      warmup: settings.warmup,
      duration: settings.duration,
      sliceMs: settings.sliceMs,
      sliceLog: settings.sliceLog,
      ...spec,
    },
  });
  if (run.sliceLog) run.routes.baseline.sliceLog = run.sliceLog;
  return run;
}

const baselineRoute = { name: 'baseline', path: '/bench/me' };
/** Sequential refreshes of the "refresh alone" check. */
const ALONE_REFRESHES = 200;

/** "bearer 0.832× (whole slices 0.847×), …": a round's req/s ratios to its baseline. */
function describeRatios(label, run, names) {
  const base = run.routes.baseline;
  const parts = names.map((name) => {
    const r = run.routes[name];
    return `${name} ${(r.rps / base.rps).toFixed(3)}× (whole slices ${(r.bySend.rps / base.bySend.rps).toFixed(3)}×)`;
  });
  const settled = (base.durationSec / base.sliceSec) * 100;
  return `${label.padEnd(22)} ${parts.join(', ')}; ${run.slices} slices, baseline measured over ${settled.toFixed(0)}% of its slice time`;
}

function describeRun(label, run) {
  return (
    `${label.padEnd(22)} ${run.rps.toFixed(0).padStart(6)} req/s  p50 ${run.latency.p50} ms  p99 ${run.latency.p99} ms  ` +
    `non-2xx ${run.non2xx + run.errors + run.timeouts}` +
    (run.cpuMsPerRequest === undefined ? '' : `  cpu ${run.cpuMsPerRequest.toFixed(3)} ms/req`) +
    (run.dbPerRequest === undefined ? '' : `  queries ${run.dbPerRequest.toFixed(3)}/req`) +
    (run.redisPerRequest === undefined ? '' : `  redis scripts ${run.redisPerRequest.toFixed(3)}/req`)
  );
}

/** Runs `fn` and resolves to [its result, the Redis server's commandstats delta over it]. */
async function withRedisCounts(fn) {
  const before = await redis.commandStats();
  const result = await fn();
  return [result, commandDelta(await redis.commandStats(), before)];
}

/**
 * Charges the store's script round trips of a commandstats delta (EVALSHA + EVAL) to the
 * requests `runs` sent in it (warm-up and the unmeasured tail included: `totalSent`), the
 * way pg_stat_database's transactions are charged. The baseline route never touches
 * Redis; other clients of a shared server may add a few.
 */
function chargeRedis(runs, delta) {
  const scripts = scriptRoundTrips(delta);
  const sent = runs.reduce((sum, r) => sum + (r.totalSent ?? r.sent + r.warmupSent), 0);
  for (const r of runs) {
    r.redisScripts = scripts;
    r.redisSent = sent;
    r.redisPerRequest = sent > 0 ? scripts / sent : undefined;
    r.redisSegment = runs.length;
    r.redisCommands = delta;
  }
}

/** Checks that /bench/me and /api/me answer the same shape and size. */
async function checkShapes(app, accessToken) {
  const baseline = await expectStatus(200, app.url, 'GET', '/bench/me');
  const me = await expectStatus(200, app.url, 'GET', '/api/me', { headers: { authorization: `Bearer ${accessToken}` } });
  const keys = (body) => Object.keys(body).join(',');
  const size = (body) => JSON.stringify(body).length;
  if (keys(baseline.body) !== keys(me.body) || size(baseline.body) !== size(me.body)) {
    say(`warning: /bench/me ${keys(baseline.body)} (${size(baseline.body)} B) differs from /api/me ${keys(me.body)} (${size(me.body)} B)`);
  }
  return { baselineBytes: size(baseline.body), meBytes: size(me.body) };
}

/**
 * Scenario 2: GET /api/me, bearer and cookie, against the baseline in one app start: each
 * round is one load run interleaving baseline, bearer and cookie slices. On Redis
 * (`store` 'redis') the rounds count the server's script calls instead of PostgreSQL's
 * transactions (the query counter still counts the app's PostgreSQL queries). On Fastify
 * (`httpAdapter` 'fastify') the baseline is the same app's route, so on Fastify too.
 */
async function meScenario(mode, store = 'postgres', httpAdapter = 'express') {
  const onRedis = store === 'redis';
  const label = onRedis ? `redis-${mode}` : httpAdapter === 'fastify' ? `fastify-${mode}` : mode;
  const rounds = onRedis ? settings.redisRounds : settings.rounds;
  const app = await start(`app-${label}`, mode, store, httpAdapter);
  pgStat.reset();
  try {
    const email = benchEmail();
    await register(app.url, email, PASSWORD);
    const session = await login(app.url, email, PASSWORD);
    const shapes = await checkShapes(app, session.accessToken);
    const cookieCheck = await request(app.url, 'GET', '/api/me', {
      headers: { cookie: `__Host-tessera-at=${session.accessToken}` },
    });
    if (cookieCheck.status !== 200) throw new Error(`cookie-mode GET /api/me answered ${cookieCheck.status}`);
    pgStat.activity();
    const variants = [
      { name: 'bearer', path: '/api/me', headers: { authorization: `Bearer ${session.accessToken}` } },
      { name: 'cookie', path: '/api/me', headers: { cookie: `__Host-tessera-at=${session.accessToken}` } },
    ];
    const names = variants.map((v) => v.name);
    const baseline = [];
    const rows = variants.map((v) => ({ name: v.name, runs: [] }));
    // The opening pg_stat_database reading; then one after each round. On Redis the
    // server's command counts are read around each round instead (no settling needed).
    if (!onRedis) await pgStat.close();
    for (let round = 1; round <= rounds; round++) {
      const [run, delta] = onRedis
        ? await withRedisCounts(() => loadInterleaved(app, { routes: [baselineRoute, ...variants] }))
        : [await loadInterleaved(app, { routes: [baselineRoute, ...variants] })];
      if (onRedis) chargeRedis(variants.map((v) => run.routes[v.name]), delta);
      baseline.push(run.routes.baseline);
      say(describeRun(`${label} baseline #${round}`, run.routes.baseline));
      for (const [i, variant] of variants.entries()) {
        const r = run.routes[variant.name];
        // The baseline route never queries: the round's transactions are the variants'.
        if (!onRedis) pgStat.add(r);
        rows[i].runs.push(r);
        say(describeRun(`${label} ${variant.name} #${round}`, r));
      }
      say(describeRatios(`${label} ratios #${round}`, run, names));
      if (!onRedis) await pgStat.close();
    }
    return { mode, store, httpAdapter, label, app, baseline, rows, shapes };
  } finally {
    await stop(app);
  }
}

/**
 * The refresh rounds of scenario 3 on a started app: `rounds` load runs interleaving
 * baseline and refresh slices, each connection with a session of its own (made by login
 * up front). `hooks.ready()` runs once the logins are done, `hooks.round(fn)` wraps each
 * round's load run (resolving to the run) and `hooks.after(run)` follows it. Resolves to { baseline, runs, spare }
 * (`spare`: one more session, for the sequential check).
 */
async function refreshRounds(app, email, { label, rounds, hooks }) {
  const baseline = [];
  const runs = [];
  // A fresh session per connection for every warm-up and measured run (a rotated
  // token is spent), all made up front so that no login falls in a database segment.
  const perRun = 2 * settings.connections;
  const sessions = await mapLimit(Array.from({ length: perRun * rounds + 1 }), 8, () => login(app.url, email, PASSWORD));
  const spare = sessions.pop();
  await hooks.ready();
  for (let round = 1; round <= rounds; round++) {
    const mine = sessions.slice((round - 1) * perRun, round * perRun).map((s) => s.refreshToken);
    // One run interleaving baseline and refresh slices; each connection keeps its
    // session's refresh token across its refresh slices.
    const refreshRoute = { name: 'refresh', path: '/auth/refresh', method: 'POST', headers: { 'x-auth-mode': 'bearer' }, refresh: true };
    const run = await hooks.round(() =>
      loadInterleaved(app, {
        routes: [baselineRoute, refreshRoute],
        warmupRefreshTokens: mine.slice(0, settings.connections),
        refreshTokens: mine.slice(settings.connections),
      }),
    );
    baseline.push(run.routes.baseline);
    runs.push(run.routes.refresh);
    say(describeRun(`${label} baseline #${round}`, run.routes.baseline));
    say(describeRun(`${label} #${round}`, run.routes.refresh));
    say(describeRatios(`${label} ratio #${round}`, run, ['refresh']));
    await hooks.after(run);
  }
  return { baseline, runs, spare };
}

/** `n` sequential refreshes on one connection from `token`; resolves to the last token. */
async function refreshChain(app, token, n) {
  for (let i = 0; i < n; i++) {
    const response = await expectStatus(200, app.url, 'POST', '/auth/refresh', {
      headers: { 'x-auth-mode': 'bearer' },
      body: { refreshToken: token },
    });
    token = response.body.refreshToken;
  }
  return token;
}

/**
 * Scenario 3 (refresh: interleaved with the baseline) and 4 (login with the baseline's
 * latency alongside, separate runs), in one cached-mode start.
 */
async function refreshAndLoginScenarios({ refresh, loginToo }) {
  const app = await start('app-refresh-login', 'cached');
  pgStat.reset();
  const out = { app };
  try {
    const email = benchEmail();
    await register(app.url, email, PASSWORD);
    pgStat.activity();
    if (refresh) {
      const { baseline, runs, spare } = await refreshRounds(app, email, {
        label: 'refresh',
        rounds: settings.rounds,
        hooks: {
          ready: async () => {
            pgStat.activity();
            // The opening pg_stat_database reading; then one after each round.
            await pgStat.close();
          },
          round: (fn) => fn(),
          after: async (run) => {
            // The baseline route never queries: the round's transactions are the refreshes'.
            pgStat.add(run.routes.refresh);
            await pgStat.close();
          },
        },
      });
      // Alone: one refresh at a time. Under load the store rotates the refreshes that
      // arrive together in one statement; a refresh on its own must still be one.
      const alone = { refreshes: ALONE_REFRESHES, byKind: {} };
      const before = await app.queries();
      await refreshChain(app, spare.refreshToken, ALONE_REFRESHES);
      const after = await app.queries();
      pgStat.activity();
      for (const [kind, n] of Object.entries(after.byKind)) {
        const delta = n - (before.byKind[kind] ?? 0);
        if (delta > 0) alone.byKind[kind] = delta / ALONE_REFRESHES;
      }
      alone.updatesPerRefresh = alone.byKind['UPDATE tessera_sessions'] ?? 0;
      say(`refresh alone: ${alone.updatesPerRefresh.toFixed(3)} UPDATE tessera_sessions per refresh over ${ALONE_REFRESHES} sequential refreshes`);
      out.refresh = { baseline, rows: [{ name: 'bearer', runs }], alone };
    }
    if (loginToo) {
      const probeSpec = {
        path: '/bench/me',
        connections: settings.probeConnections,
        overallRate: settings.probeRate,
      };
      const alone = [];
      const during = [];
      const logins = [];
      for (let round = 1; round <= settings.rounds; round++) {
        const a = await runLoad({
          benchDir,
          app,
          args: { url: app.url, warmup: settings.warmup, duration: settings.duration, ...probeSpec },
        });
        alone.push(a);
        say(describeRun(`probe alone #${round}`, a));
        await pgStat.close();
        // The probe's measured window sits inside the login run's measured window.
        const [loginRun, probeRun] = await Promise.all([
          runLoad({
            benchDir,
            app,
            args: {
              url: app.url,
              path: '/auth/login',
              method: 'POST',
              headers: { 'x-auth-mode': 'bearer' },
              body: { email, password: PASSWORD },
              connections: settings.loginConnections,
              warmup: settings.warmup,
              duration: settings.duration,
            },
          }),
          runLoad({
            benchDir,
            args: { url: app.url, warmup: settings.warmup + 0.5, duration: settings.duration - 1, ...probeSpec },
          }),
        ]);
        // Charge the probe's own CPU (measured alone) to the probe, not to the logins.
        const probeCpuMs = (a.cpuMsPerRequest ?? 0) * settings.probeRate * ((loginRun.window.to - loginRun.window.from) / 1e6);
        loginRun.cpuMsPerRequest = loginRun.requests > 0 ? Math.max(0, loginRun.cpuMs - probeCpuMs) / loginRun.requests : undefined;
        pgStat.add(loginRun);
        logins.push(loginRun);
        during.push(probeRun);
        say(describeRun(`login #${round}`, loginRun));
        say(describeRun(`probe during login #${round}`, probeRun));
      }
      out.login = { alone, during, logins };
    }
    return out;
  } finally {
    await stop(app);
  }
}

/**
 * Scenario 5: logouts on instance B, polling instance A until it answers 401. On Redis
 * both instances share the run's key prefix (the revocation feed is its pub/sub channel).
 */
async function propagationScenario(store = 'postgres') {
  const label = store === 'redis' ? 'redis-propagation' : 'propagation';
  const a = await start(`app-${label}-a`, 'cached', store);
  let b;
  try {
    b = await start(`app-${label}-b`, 'cached', store);
    const email = benchEmail();
    await register(a.url, email, PASSWORD);
    const sessions = await mapLimit(Array.from({ length: settings.propagationLogouts }), 8, () => login(a.url, email, PASSWORD));
    for (const s of sessions) {
      await expectStatus(200, a.url, 'GET', '/api/me', { headers: { authorization: `Bearer ${s.accessToken}` } });
    }
    const fromSent = [];
    const fromAnswered = [];
    const logoutMs = [];
    const codes = new Map();
    let timedOut = 0;
    let polls = 0;
    for (const s of sessions) {
      const auth = { authorization: `Bearer ${s.accessToken}` };
      const t0 = performance.now();
      await expectStatus(204, b.url, 'POST', '/auth/logout', { headers: auth });
      const t1 = performance.now();
      let seen;
      const deadline = t1 + 5_000;
      while (performance.now() < deadline) {
        polls++;
        const response = await request(a.url, 'GET', '/api/me', { headers: auth });
        if (response.status === 401) {
          seen = performance.now();
          codes.set(response.body?.code, (codes.get(response.body?.code) ?? 0) + 1);
          break;
        }
        await sleep(settings.propagationPollMs);
      }
      logoutMs.push(t1 - t0);
      if (seen === undefined) {
        timedOut++;
        continue;
      }
      fromSent.push(seen - t0);
      fromAnswered.push(seen - t1);
    }
    const stats = (values) => ({
      median: median(values),
      p99: percentile(values, 99),
      max: values.length ? Math.max(...values) : undefined,
    });
    const result = {
      logouts: sessions.length,
      timedOut,
      polls,
      codes: Object.fromEntries(codes),
      fromSent: stats(fromSent),
      fromAnswered: stats(fromAnswered),
      logout: stats(logoutMs),
    };
    say(
      `${label}: median ${result.fromSent.median?.toFixed(1)} ms, p99 ${result.fromSent.p99?.toFixed(1)} ms from logout sent ` +
        `(${result.fromAnswered.median?.toFixed(1)} / ${result.fromAnswered.p99?.toFixed(1)} ms from its 204), ${timedOut} timed out`,
    );
    return result;
  } finally {
    if (b) await stop(b);
    await stop(a);
  }
}

/** Scenario 6: the cleanup job (`node main.js cleanup`) on expired sessions. */
async function cleanupScenario() {
  // Run alone (BENCH_ONLY=cleanup), no app has migrated the database yet: one start does.
  const { rows } = await db.query(`SELECT to_regclass('tessera_sessions') IS NOT NULL AS migrated`);
  if (!rows[0]?.migrated) await stop(await start('app-migrate', 'cached'));
  const tag = `old-${randomBytes(4).toString('hex')}`;
  const insertStarted = performance.now();
  // The rows of the cleanup test (tools/testing/old-sessions.sql): half expired 30 days ago,
  // half revoked 8 days ago, both past the 7-day retention.
  await db.query(readFileSync(new URL('../tools/testing/old-sessions.sql', import.meta.url), 'utf8'), [tag, settings.cleanupRows]);
  const insertMs = performance.now() - insertStarted;
  // As after any bulk load: VACUUM ANALYZE, so the job runs on a settled table with fresh
  // statistics, not racing the autovacuum and autoanalyze the insert sets off. Fresh
  // statistics are also the hard case for the job's plan (an earlier \`expires_at < $1 OR
  // revoked_at < $1 … LIMIT\` statement became a bitmap OR collecting every expired row per
  // batch: 14-25k rows/s).
  const vacuumStarted = performance.now();
  await db.query('VACUUM ANALYZE tessera_sessions');
  const vacuumMs = performance.now() - vacuumStarted;
  const totalBefore = Number((await db.query('SELECT count(*)::bigint AS n FROM tessera_sessions')).rows[0].n);
  say(`inserted ${settings.cleanupRows} expired sessions in ${(insertMs / 1000).toFixed(1)} s (table: ${totalBefore} rows)`);
  const env = appEnv({ databaseUrl: db.url, secrets, revocationMode: 'cached' });
  const processStarted = performance.now();
  const { code, log, logFile } = await runCleanup({ projectDir, logDir, env, cpuProfDir: profDir });
  const processMs = performance.now() - processStarted;
  const match = /Session cleanup deleted (\d+) sessions in (\d+) ms \((\d+) batches(, stopped at maxRunTime)?\)/.exec(log);
  if (code !== 0 || !match) throw new Error(`cleanup exited with ${code} without its log line; see ${logFile}`);
  const left = Number((await db.query('SELECT count(*)::bigint AS n FROM tessera_sessions WHERE user_id = $1', [tag])).rows[0].n);
  const deleted = Number(match[1]);
  const durationMs = Number(match[2]);
  const result = {
    rows: settings.cleanupRows,
    insertMs,
    vacuumMs,
    deleted,
    durationMs,
    batches: Number(match[3]),
    truncated: Boolean(match[4]),
    left,
    otherRows: totalBefore - settings.cleanupRows,
    processMs,
    rowsPerSecond: durationMs > 0 ? deleted / (durationMs / 1000) : Infinity,
  };
  say(
    `cleanup: deleted ${deleted} in ${durationMs} ms (${result.batches} batches) = ${Math.round(result.rowsPerSecond)} rows/s; ` +
      `${left} of the inserted rows left; process ${(processMs / 1000).toFixed(1)} s`,
  );
  return result;
}

/**
 * Redis scenario 3: refresh interleaved with the baseline (as on PostgreSQL), counting the
 * server's script calls per refresh under load, then alone (sequential refreshes).
 */
async function redisRefreshScenario() {
  const app = await start('app-redis-refresh', 'cached', 'redis');
  try {
    const email = benchEmail();
    await register(app.url, email, PASSWORD);
    const { baseline, runs, spare } = await refreshRounds(app, email, {
      label: 'redis-refresh',
      rounds: settings.redisRounds,
      hooks: {
        ready: async () => undefined,
        round: async (fn) => {
          const [run, delta] = await withRedisCounts(fn);
          chargeRedis([run.routes.refresh], delta);
          return run;
        },
        after: async () => undefined,
      },
    });
    const alone = await redisRefreshAlone(app, spare.refreshToken);
    return { app, baseline, rows: [{ name: 'bearer', runs }], alone };
  } finally {
    await stop(app);
  }
}

/** Quiet time around the sequential check, to see whether other clients of the server sent scripts meanwhile. */
const QUIET_MS = 1_000;

/**
 * Round trips per refresh alone: ALONE_REFRESHES sequential refreshes, the server's
 * EVALSHA + EVAL calls counted around them (INFO commandstats). The server may be shared:
 * a quiet second before and after (the app sends nothing while idle) shows whether anyone
 * else sent scripts meanwhile, and a failed EVALSHA (NOSCRIPT, after someone's SCRIPT
 * FLUSH) costs a second round trip that is not the app's doing; either way the check is
 * made again, up to 3 times, and the last attempt is reported as it is.
 */
async function redisRefreshAlone(app, token) {
  let result;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const s0 = await redis.commandStats();
    await sleep(QUIET_MS);
    const s1 = await redis.commandStats();
    token = await refreshChain(app, token, ALONE_REFRESHES);
    const s2 = await redis.commandStats();
    await sleep(QUIET_MS);
    const s3 = await redis.commandStats();
    const delta = commandDelta(s2, s1);
    const quiet = scriptRoundTrips(commandDelta(s1, s0)) + scriptRoundTrips(commandDelta(s3, s2));
    const per = (name) => ((delta[name]?.calls ?? 0) + (delta[name]?.rejected ?? 0)) / ALONE_REFRESHES;
    result = {
      refreshes: ALONE_REFRESHES,
      attempt,
      roundTripsPerRefresh: scriptRoundTrips(delta) / ALONE_REFRESHES,
      evalshaPerRefresh: per('evalsha'),
      evalPerRefresh: per('eval'),
      noscript: delta.evalsha?.failed ?? 0,
      othersInQuiet: quiet,
      commands: delta,
    };
    say(
      `redis-refresh alone #${attempt}: ${result.roundTripsPerRefresh.toFixed(3)} script calls per refresh ` +
        `(${result.evalshaPerRefresh.toFixed(3)} EVALSHA + ${result.evalPerRefresh.toFixed(3)} EVAL, ${result.noscript} NOSCRIPT) ` +
        `over ${ALONE_REFRESHES} sequential refreshes; ${quiet} script calls by others in the quiet seconds around`,
    );
    if (quiet === 0 && result.noscript === 0) break;
  }
  return result;
}

const DAY_MS = 24 * 60 * 60_000;

/**
 * Redis scenario 6: the cleanup job (`node main.js cleanup`, SESSION_STORE=redis) on
 * ended sessions written into Redis beforehand by the library's own store (the built
 * package). Redis drops an ended session's record by key expiry itself (a second after
 * it is written, for sessions ended longer than the retention ago); what the job removes
 * is what is left of them, their entries in the store's indexes.
 */
async function redisCleanupScenario() {
  const count = settings.redisCleanupRows;
  const tag = `old-${randomBytes(4).toString('hex')}`;
  const pkg = await openPackageStore({ projectDir, url: redis.url, prefix: redis.prefix });
  packageStore = pkg;
  try {
    const expiredKeys = async () => Number(/^expired_keys:(\d+)/m.exec(await redis.info('stats'))?.[1] ?? 0);
    const expiredBefore = await expiredKeys();
    const writeStarted = performance.now();
    const { users } = await writeEndedSessions(pkg.store, { tag, count });
    const writeMs = performance.now() - writeStarted;
    say(`wrote ${count} ended sessions of ${users} users into Redis with the store's create() in ${(writeMs / 1000).toFixed(1)} s`);
    // Each record lives a second (see writeEndedSessions): once that has passed for the last
    // one, every record is gone as far as any reader can tell, the state the job meets in
    // production. The server reclaims expired keys in the background, and stops hurrying
    // while fewer than about a tenth of the keys with a time to live have expired, so some
    // are still in memory: those, as in production, go when the job reads them.
    await sleep(1_500);
    const expired = (await expiredKeys()) - expiredBefore;
    const keysBefore = await redis.countKeys();
    say(`Redis reclaimed ${expired} expired keys since the write began; SCAN sees ${keysBefore} keys of the run's prefix`);
    const env = appEnv({ databaseUrl: db.url, secrets, revocationMode: 'cached', redis: redisEnv('redis') });
    const processStarted = performance.now();
    const [{ code, log, logFile }, delta] = await withRedisCounts(() =>
      runCleanup({ projectDir, logDir, env, cpuProfDir: profDir, name: 'redis-cleanup' }),
    );
    const processMs = performance.now() - processStarted;
    const match = /Session cleanup deleted (\d+) sessions in (\d+) ms \((\d+) batches(, stopped at maxRunTime)?\)/.exec(log);
    if (code !== 0 || !match) throw new Error(`redis cleanup exited with ${code} without its log line; see ${logFile}`);
    // What the job left: the store's own deleteExpired with the job's cutoff (the demo's
    // 7-day retention), run after it; it finds only this scenario's sessions, the others are live.
    const left = await pkg.store.deleteExpired(new Date(Date.now() - 7 * DAY_MS), count + 1);
    const keysAfter = await redis.countKeys();
    const deleted = Number(match[1]);
    const durationMs = Number(match[2]);
    const result = {
      rows: count,
      users,
      writeMs,
      expired,
      keysBefore,
      keysAfter,
      deleted,
      durationMs,
      batches: Number(match[3]),
      truncated: Boolean(match[4]),
      left,
      scripts: scriptRoundTrips(delta),
      processMs,
      rowsPerSecond: durationMs > 0 ? deleted / (durationMs / 1000) : Infinity,
    };
    say(
      `redis-cleanup: deleted ${deleted} in ${durationMs} ms (${result.batches} batches, ${result.scripts} script calls) = ` +
        `${Math.round(result.rowsPerSecond)} sessions/s; ${left} of the written sessions left; process ${(processMs / 1000).toFixed(1)} s`,
    );
    return result;
  } finally {
    packageStore = undefined;
    await pkg.close();
  }
}

/**
 * Builds the demo app, and for redis-cleanup the store's package too (dist/libs/session-redis:
 * the scenario writes its sessions with it).
 */
function build() {
  if (process.env.BENCH_SKIP_BUILD === '1') {
    say('BENCH_SKIP_BUILD=1: using the existing build');
    return;
  }
  const targets = ['demo-api:build', ...(only.includes('redis-cleanup') ? ['session-redis:build'] : [])];
  for (const target of targets) {
    say(`building ${target} (npx nx run ${target})`);
    const logFile = join(logDir, `build-${target.replace(':build', '')}.log`);
    const result = spawnSync('npx', ['nx', 'run', target], {
      cwd: projectDir,
      encoding: 'utf8',
      env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
      maxBuffer: 64 * 1024 * 1024,
    });
    writeFileSync(logFile, `${result.stdout ?? ''}\n${result.stderr ?? ''}`);
    if (result.status !== 0) {
      throw new Error(`build of ${target} failed (exit ${result.status}); see ${logFile}:\n${(result.stdout ?? '').slice(-3000)}`);
    }
  }
}

/** Top self-time functions in each scenario's measured windows, and what grew over the baseline (BENCH_CPU_PROF=1). */
function profileSummaries(results) {
  const out = [];
  const loaded = new Map();
  const load = (app) => {
    if (!app?.profile) return undefined;
    if (!loaded.has(app.profile)) {
      try {
        loaded.set(app.profile, JSON.parse(readFileSync(app.profile, 'utf8')));
      } catch (error) {
        say(`no profile for ${app.name}: ${error.message}`);
        loaded.set(app.profile, undefined);
      }
    }
    return loaded.get(app.profile);
  };
  const requests = (runs) => runs.reduce((sum, r) => sum + r.requests, 0);
  const add = (title, app, runs, baselineRuns) => {
    const profile = load(app);
    if (!profile || runs.length === 0) return;
    // Interleaved runs: only the measured parts of the route's own slices.
    const windows = (list) => list.flatMap((r) => r.windows ?? [r.window]);
    const summary = summarize(profile, { windows: windows(runs), top: 20, requests: requests(runs) });
    let extra;
    if (baselineRuns?.length) {
      const base = summarize(profile, { windows: windows(baselineRuns), requests: requests(baselineRuns) });
      extra = extraPerRequest(summary, requests(runs), base, requests(baselineRuns));
    }
    out.push({ title, file: app.profile, summary, extra });
    process.stdout.write(
      `\nCPU profile, ${title} (measured runs; ${app.profile}):\n${formatSummary(summary)}\n${extra ? `${formatExtra(extra)}\n` : ''}`,
    );
  };
  for (const group of [...results.me, ...(results.redis?.me ?? [])]) {
    const mode = group.store === 'redis' ? `Redis store, ${group.mode}` : (group.label ?? group.mode);
    add(`${mode}: GET /bench/me (baseline)`, group.app, group.baseline);
    for (const row of group.rows) add(`${mode}: GET /api/me ${row.name}`, group.app, row.runs, group.baseline);
  }
  if (results.refresh) {
    add('refresh start: GET /bench/me (baseline)', results.refreshApp, results.refresh.baseline);
    add('POST /auth/refresh', results.refreshApp, results.refresh.rows[0].runs, results.refresh.baseline);
  }
  if (results.login) add('POST /auth/login (with the probe)', results.refreshApp, results.login.logins);
  if (results.graphql) {
    add('GraphQL benchMe (baseline)', results.graphql.app, results.graphql.baseline);
    add('GraphQL me, bearer', results.graphql.app, results.graphql.rows[0].runs, results.graphql.baseline);
  }
  if (results.redis?.refresh) {
    const { refreshApp, refresh } = results.redis;
    add('Redis store, refresh start: GET /bench/me (baseline)', refreshApp, refresh.baseline);
    add('Redis store: POST /auth/refresh', refreshApp, refresh.rows[0].runs, refresh.baseline);
  }
  return out;
}

/** The command that made the report: `npm run bench` after the BENCH_* settings given (none that may hold a password). */
function commandLine() {
  const shown = [
    'BENCH_ONLY',
    'BENCH_WARMUP',
    'BENCH_DURATION',
    'BENCH_ROUNDS',
    'BENCH_REDIS_ROUNDS',
    'BENCH_SLICE_MS',
    'BENCH_CLEANUP_ROWS',
    'BENCH_REDIS_CLEANUP_ROWS',
    'BENCH_CPU_PROF',
    'BENCH_SOCKETS',
  ].filter((name) => process.env[name]);
  return [...shown.map((name) => `${name}=${process.env[name]}`), 'npm run bench'].join(' ');
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const nproc = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim() || String(os.availableParallelism());
  return {
    nproc,
    cpu: model,
    memoryGiB: os.totalmem() / 1024 ** 3,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const secrets = { jwt: randomBytes(48).toString('base64url'), session: randomBytes(48).toString('base64url') };

async function main() {
  say(`work dir ${workDir}; scenarios: ${only.join(', ')}${settings.cpuProf ? ' (profiling)' : ''}`);
  if (redisWanted) {
    // First, so that a missing server stops the run before the PostgreSQL scenarios, not after.
    redis = await openBenchRedis({
      url: process.env.BENCH_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379',
      log: (line) => say(`redis: ${line}`),
    });
    say(`Redis ${redis.version} at ${redis.shownUrl}, key prefix ${redis.prefix}`);
  }
  build();
  db = await openBenchDatabase({
    databaseUrl: process.env.DATABASE_URL || undefined,
    log: (line) => appendFileSync(join(logDir, 'postgres.log'), `${line}\n`),
  });
  say(`PostgreSQL ${db.version} (${db.source}), database ${db.name}`);
  pgStat = new PgStatSegments(db);
  const results = { me: [] };
  let database;
  try {
    for (const mode of ['stateless', 'cached', 'strict']) {
      if (only.includes(mode)) results.me.push(await meScenario(mode));
      if (mode === 'cached' && only.includes('fastify-cached')) results.me.push(await meScenario(mode, 'postgres', 'fastify'));
    }
    if (only.includes('refresh') || only.includes('login')) {
      const r = await refreshAndLoginScenarios({ refresh: only.includes('refresh'), loginToo: only.includes('login') });
      results.refreshApp = r.app;
      results.refresh = r.refresh;
      results.login = r.login;
    }
    if (only.includes('propagation')) results.propagation = await propagationScenario();
    if (only.includes('socket-close')) {
      results.socketClose = await socketCloseScenario({ start, stop, say, email: benchEmail(), password: PASSWORD, sockets: settings.socketCloseSockets });
    }
    if (only.includes('graphql-me')) {
      const helpers = { start, stop, loadInterleaved, say, describeRun, describeRatios, settings, register, login, expectStatus, benchEmail };
      results.graphql = await graphqlMeScenario({ ...helpers, password: PASSWORD });
    }
    if (only.includes('telemetry')) {
      const helpers = { start, stop, loadInterleaved, refreshRounds, say, describeRun, describeRatios, settings, register, login, expectStatus, request, benchEmail };
      results.telemetry = await telemetryScenario({ ...helpers, password: PASSWORD, benchDir });
    }
    if (only.includes('cleanup')) results.cleanup = await cleanupScenario();
    if (redisWanted) {
      const r = (results.redis = { me: [] });
      for (const mode of ['cached', 'strict']) {
        if (only.includes(`redis-${mode}`)) r.me.push(await meScenario(mode, 'redis'));
      }
      if (only.includes('redis-refresh')) {
        const { app, ...refresh } = await redisRefreshScenario();
        r.refreshApp = app;
        r.refresh = refresh;
      }
      if (only.includes('redis-propagation')) r.propagation = await propagationScenario('redis');
      if (only.includes('redis-cleanup')) r.cleanup = await redisCleanupScenario();
      r.server = { version: redis.version, url: redis.shownUrl, prefix: redis.prefix };
    }
    database = { version: db.version, source: db.source, name: db.name };
  } finally {
    await teardown();
  }
  writeFileSync(join(workDir, 'results.json'), JSON.stringify({ settings, database, results }, null, 1));
  const profiles = settings.cpuProf ? profileSummaries(results) : [];
  const elapsedSec = (Date.now() - startedAt) / 1000;
  const report = renderReport({
    date: new Date(),
    machine: machine(),
    database,
    settings,
    results,
    profiles,
    elapsedSec,
    partial,
    command: commandLine(),
  });
  const defaultOut = partial || settings.cpuProf ? join(workDir, 'benchmarks.md') : join(projectDir, 'docs/benchmarks.md');
  const outFile = resolve(process.env.BENCH_OUT || defaultOut);
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, report.markdown);
  process.stdout.write(`\n${report.tables}\n`);
  say(`wrote ${relative(process.cwd(), outFile) || outFile} in ${elapsedSec.toFixed(0)} s; logs in ${logDir}`);
  if (report.missed.length > 0) say(`targets missed: ${report.missed.join('; ')}`);
}

main().then(
  () => {
    // pg may leave handles behind; everything is closed by now.
    process.exit(0);
  },
  async (error) => {
    // After a Ctrl-C the scenario in progress fails as its processes and connections go: not news.
    if (!interrupted) process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await teardown().catch(() => undefined);
    process.exit(interrupted ? 130 : 1);
  },
);


