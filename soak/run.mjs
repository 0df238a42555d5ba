// `npm run soak`: builds the demo app (SOAK_SKIP_BUILD=1 reuses dist/), starts two
// instances in `cached` mode on one fresh PostgreSQL database (DATABASE_URL's server, or
// an embedded one; created and dropped as `npm run bench` does), and drives them for
// SOAK_MINUTES with virtual users that register, log in (bearer and cookie), call
// /api/me, refresh (alone, as two tabs at once, and late with a rotated token), change
// their password, log out and log out everywhere, plus an attacker replaying stolen
// refresh tokens. Every answer is checked against the contract (/work/shared/DEMO-API.md,
// the README's table); the run fails on any contract violation, any 5xx that is not the
// designed `503 store_unavailable` of a fault, or any lost acknowledged write.
//
// Environment:
//   SOAK_MINUTES=10      how long the load runs (fractions allowed)
//   SOAK_USERS=50        virtual users (plus one attacker)
//   SOAK_FAULT=1         midway, cut the TCP proxy between both instances and PostgreSQL for 5 s
//   SOAK_GRACE=2s        REFRESH_REUSE_GRACE of the instances (short, so late replays come quickly)
//   SOAK_SKIP_BUILD=1    use the existing dist/apps/demo-api/main.js
//   SOAK_HEAP_SNAPSHOTS=1  a heap snapshot of each instance at 40 % of the run and at the end
//                        (the load paused and drained for both), compared in the report
//   SOAK_OUT=<file>      where the markdown report goes (default: <work dir>/soak.md)
//   DATABASE_URL         PostgreSQL server to create the soak database on (embedded otherwise)
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { appEnv, startApp } from '../bench/lib/app.mjs';
import { request } from '../bench/lib/http.mjs';
import { openBenchDatabase } from '../bench/lib/postgres.mjs';
import { freePort, sleep } from '../bench/lib/util.mjs';
import { heapDiff, heapDiffTable } from './lib/heap-diff.mjs';
import { slope, Tally } from './lib/model.mjs';
import { startTcpProxy } from './lib/tcp-proxy.mjs';

const projectDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PROBE = fileURLToPath(new URL('./lib/process-probe.cjs', import.meta.url));

function number(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

const settings = {
  minutes: number('SOAK_MINUTES', 10),
  users: Math.round(number('SOAK_USERS', 50)),
  fault: process.env.SOAK_FAULT === '1',
  grace: process.env.SOAK_GRACE || '2s',
  faultSeconds: 5,
  heapSnapshots: process.env.SOAK_HEAP_SNAPSHOTS === '1',
};
const GRACE_MS = parseDuration(settings.grace);
/** The contract's propagation bound in `cached` mode. */
const PROPAGATION_MS = 1000;
/** With a fault: a revocation whose bound overlaps the outage must hold this long after the proxy is back (the feed's resync). */
const RESYNC_MS = 5000;
/** With a fault: `503 store_unavailable` is the designed answer from the cut until this long after the restore. */
const RECOVERY_MS = 10_000;
const ORIGIN = 'https://app.soak.test';
const AT = '__Host-tessera-at';
const RT = '__Secure-tessera-rt';
const CSRF = '__Host-tessera-csrf';

function parseDuration(text) {
  const match = /^(\d+)(ms|s|m)$/.exec(text);
  if (!match) throw new Error(`SOAK_GRACE must look like 500ms, 2s or 1m, got "${text}"`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2]];
}

const workDir = mkdtempSync(join(os.tmpdir(), 'tessera-soak-'));
const logDir = join(workDir, 'logs');
mkdirSync(logDir, { recursive: true });
const say = (line) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const tally = new Tally({ fault: settings.fault });
// A connection idle for 4 s is dropped by the client: the server closes idle ones after its
// KEEP_ALIVE_TIMEOUT (5 s), and a request written on a connection the server is closing at
// that moment gets ECONNRESET, a race of keep-alive itself, not an answer of the app.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });
const fault = { cutAt: undefined, restoredAt: undefined };
const failures = [];
const instances = [];
let stopping = false;
/** Closed while heap snapshots are written: virtual users wait at their next step. */
let gate = Promise.resolve();
/** Requests sent and not answered yet (the snapshots wait for none to be in flight). */
let inFlight = 0;
/** Heap snapshot files by instance: [{ label, file }]. */
const snapshots = new Map();
const runId = randomBytes(3).toString('hex');
let userSeq = 0;

/** Every session the model knows of, by id: { state: 'live' | 'revoked' | 'uncertain', ... }. */
const sessions = new Map();
/** Sessions whose revocation was acknowledged (a 2xx, or the reuse answer) and checked to have propagated. */
const revoked = [];
/** Sessions left behind by their user (a closed laptop), with rotated refresh tokens an attacker stole. */
const stolen = [];
/** Audit events the model expects, by type. */
const expectedEvents = new Map();
const expectEvent = (type, n = 1) => expectedEvents.set(type, (expectedEvents.get(type) ?? 0) + n);
/** Operations whose outcome is unknown (a 5xx or a dropped connection): they widen what the database may hold. */
let uncertainOps = 0;

class Abort extends Error {}

function failure(text) {
  if (failures.length < 10) failures.push(`${new Date().toISOString()} ${text}`);
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];
const chance = (p) => Math.random() < p;
const think = () => sleep(30 + Math.random() * 170).then(() => gate);

/** Sends one request to `inst` and books its answer; a 5xx or a transport error is booked here. */
async function call(inst, method, path, route, { headers = {}, body } = {}) {
  const sentAt = Date.now();
  const started = performance.now();
  let res;
  inFlight++;
  try {
    res = await request(inst.url, method, path, { headers: { 'user-agent': 'tessera-soak', ...headers }, body, agent });
  } catch (error) {
    tally.transportErrors++;
    failure(`${route} on ${inst.name}: transport error ${error.code ?? error.message}`);
    return { status: 0, code: undefined, headers: {}, body: undefined, sentAt, inst };
  } finally {
    inFlight--;
  }
  tally.answer(route, res.status, performance.now() - started);
  res.sentAt = sentAt;
  res.inst = inst;
  res.code = res.body && typeof res.body === 'object' ? res.body.code : undefined;
  if (res.status >= 500) {
    if (settings.fault && res.status === 503 && res.code === 'store_unavailable') {
      tally.designed503++;
      // Designed when the request overlapped the outage: answered after the cut, sent before the end of the recovery allowance.
      const answeredAt = Date.now();
      const inWindow = fault.cutAt !== undefined && answeredAt >= fault.cutAt && (fault.restoredAt === undefined || sentAt <= fault.restoredAt + RECOVERY_MS);
      if (!inWindow) {
        tally.designed503Outside++;
        const when = fault.cutAt === undefined || answeredAt < fault.cutAt ? 'before the cut' : `sent ${sentAt - fault.restoredAt} ms after the restore`;
        failure(`${route} on ${inst.name}: 503 store_unavailable outside the fault window (${when})`);
      }
      if (res.headers['retry-after'] === undefined) tally.violation(`${route} on ${inst.name}: 503 store_unavailable without Retry-After`);
    } else {
      tally.failed5xx++;
      failure(`${route} on ${inst.name}: ${res.status}${res.code ? ` ${res.code}` : ''}`);
    }
  }
  return res;
}

/** A 5xx or a transport error: the outcome is unknown, so the model stops vouching for `subjects`. */
function settle(res, subjects = []) {
  if (res.status !== 0 && res.status < 500) return;
  uncertainOps++;
  for (const s of subjects) if (s.state === 'live') s.state = 'uncertain';
  throw new Abort('outcome unknown');
}

/** Checks status (and code); a mismatch is a violation and ends the visit. */
function expect(res, status, code, what) {
  if (res.status === status && (code === undefined || res.code === code)) return;
  tally.violation(
    `${what} on ${res.inst.name}: expected ${status}${code ? ` ${code}` : ''}, got ${res.status}${res.code ? ` ${res.code}` : ''}`,
  );
  throw new Abort('violation');
}

function check(ok, text) {
  if (ok) return;
  tally.violation(text);
  throw new Abort('violation');
}

function setCookies(res) {
  const lines = res.headers['set-cookie'] ?? [];
  const out = new Map();
  for (const line of Array.isArray(lines) ? lines : [lines]) {
    const pair = line.split(';')[0];
    const eq = pair.indexOf('=');
    out.set(pair.slice(0, eq).trim(), decodeURIComponent(pair.slice(eq + 1)));
  }
  return out;
}

function noStore(res, what) {
  check(/no-store/.test(String(res.headers['cache-control'] ?? '')), `${what} on ${res.inst.name}: ${res.status} without Cache-Control: no-store`);
}

function expiry(accessToken) {
  try {
    return JSON.parse(Buffer.from(String(accessToken).split('.')[1], 'base64url').toString('utf8')).exp * 1000;
  } catch {
    return Infinity;
  }
}

/** Headers of an authenticated request of `s` to `path` (cookie mode: what a browser on ORIGIN sends). */
function auth(s, path, unsafe) {
  if (s.mode === 'bearer') return { authorization: `Bearer ${s.access}` };
  const cookies = [`${AT}=${s.access}`, `${CSRF}=${s.csrf}`, ...(path.startsWith('/auth') ? [`${RT}=${s.refresh}`] : [])];
  return {
    cookie: cookies.join('; '),
    ...(unsafe ? { 'x-csrf-token': s.csrf, origin: ORIGIN, 'sec-fetch-site': 'same-origin' } : {}),
  };
}

/** Takes the tokens of a login, refresh or password-change answer into `s`; false when they are missing. */
function absorb(s, res) {
  if (s.mode === 'bearer') {
    const b = res.body ?? {};
    if (typeof b.accessToken !== 'string' || typeof b.refreshToken !== 'string' || b.tokenType !== 'Bearer') return false;
    s.access = b.accessToken;
    s.refresh = b.refreshToken;
  } else {
    const c = setCookies(res);
    if (!c.get(AT) || !c.get(RT) || !c.get(CSRF)) return false;
    s.access = c.get(AT);
    s.refresh = c.get(RT);
    s.csrf = c.get(CSRF);
  }
  s.exp = expiry(s.access);
  return true;
}

/** A fresh CSRF token for a cookie-mode client without a session (GET /auth/csrf). */
async function csrfFor(inst) {
  const res = await call(inst, 'GET', '/auth/csrf', 'GET /auth/csrf');
  settle(res);
  expect(res, 200, undefined, 'GET /auth/csrf');
  const token = setCookies(res).get(CSRF);
  check(token && res.body?.csrfToken === token, `GET /auth/csrf on ${inst.name}: the body's csrfToken is not the cookie's`);
  return token;
}

/** Headers of an anonymous unsafe request in `mode`. */
async function anonymous(mode, inst) {
  if (mode === 'bearer') return { 'x-auth-mode': 'bearer' };
  const token = await csrfFor(inst);
  return { cookie: `${CSRF}=${token}`, 'x-csrf-token': token, origin: ORIGIN, 'sec-fetch-site': 'same-origin' };
}

function newIdentity(u) {
  u.email = `soak-${runId}-${++userSeq}@example.com`;
  u.password = randomBytes(12).toString('base64url');
  u.id = undefined;
  u.sessions = [];
}

async function register(u) {
  const inst = pick(instances);
  const mode = chance(0.5) ? 'bearer' : 'cookie';
  const res = await call(inst, 'POST', '/auth/register', 'POST /auth/register', {
    headers: await anonymous(mode, inst),
    body: { email: u.email, password: u.password },
  });
  settle(res);
  expect(res, 201, undefined, `register (${mode})`);
  check(typeof res.body?.id === 'string' && res.body.email === u.email, `register on ${inst.name}: body ${JSON.stringify(res.body)}`);
  u.id = res.body.id;
  tally.count('registrations');
}

async function login(u, mode = chance(0.5) ? 'bearer' : 'cookie', inst = pick(instances)) {
  const res = await call(inst, 'POST', '/auth/login', 'POST /auth/login', {
    headers: await anonymous(mode, inst),
    body: { email: u.email, password: u.password },
  });
  settle(res);
  expect(res, 200, undefined, `login (${mode})`);
  noStore(res, 'login');
  const body = res.body ?? {};
  check(body.user?.id === u.id && body.user?.email === u.email && typeof body.session?.id === 'string', `login on ${inst.name}: body user/session ${JSON.stringify({ user: body.user, session: body.session })}`);
  const s = { id: body.session.id, user: u, mode, state: 'live', history: [], revokedAt: undefined };
  check(absorb(s, res), `login (${mode}) on ${inst.name}: tokens missing`);
  check(mode === 'bearer' || body.csrfToken === s.csrf, `login (cookie) on ${inst.name}: the body's csrfToken is not the cookie's`);
  sessions.set(s.id, s);
  u.sessions.push(s);
  tally.count('logins');
  expectEvent('session.created');
  return s;
}

async function me(s, inst = pick(instances)) {
  const res = await call(inst, 'GET', '/api/me', 'GET /api/me', { headers: auth(s, '/api/me', false) });
  settle(res);
  expect(res, 200, undefined, `/api/me (${s.mode}, live session)`);
  noStore(res, '/api/me');
  const b = res.body ?? {};
  check(b.id === s.user.id && b.email === s.user.email && b.sessionId === s.id && Array.isArray(b.roles), `/api/me on ${inst.name}: body ${JSON.stringify(b)} for session ${s.id}`);
}

/** POST /auth/refresh with `token` in the session's mode. */
function refreshCall(s, token, inst) {
  if (s.mode === 'bearer') {
    return call(inst, 'POST', '/auth/refresh', 'POST /auth/refresh', { headers: { 'x-auth-mode': 'bearer' }, body: { refreshToken: token } });
  }
  return call(inst, 'POST', '/auth/refresh', 'POST /auth/refresh', {
    headers: { cookie: `${AT}=${s.access}; ${RT}=${token}; ${CSRF}=${s.csrf}`, 'x-csrf-token': s.csrf, origin: ORIGIN, 'sec-fetch-site': 'same-origin' },
  });
}

function tookRotation(s, res, what) {
  expect(res, 200, undefined, what);
  noStore(res, what);
  check(res.body?.session?.id === s.id, `${what} on ${res.inst.name}: session ${res.body?.session?.id} instead of ${s.id}`);
  const previous = s.refresh;
  check(absorb(s, res), `${what} on ${res.inst.name}: tokens missing`);
  check(s.refresh !== previous, `${what} on ${res.inst.name}: the refresh token did not rotate`);
  s.history.push({ token: previous, replacedAt: Date.now() });
}

async function refresh(s) {
  const res = await refreshCall(s, s.refresh, pick(instances));
  settle(res, [s]);
  tookRotation(s, res, `refresh (${s.mode})`);
  tally.count('rotations');
  expectEvent('session.refreshed');
}

/** Two tabs refresh with the same token at once, on both instances: both get the same successor (the grace window). */
async function parallelRefresh(s) {
  const token = s.refresh;
  const [a, b] = await Promise.all(instances.map((inst) => refreshCall(s, token, inst)));
  settle(a, [s]);
  settle(b, [s]);
  const copy = { ...s, history: [] };
  tookRotation(s, a, `first of two parallel refreshes (${s.mode})`);
  tookRotation(copy, b, `second of two parallel refreshes (${s.mode})`);
  check(copy.refresh === s.refresh, `two parallel refreshes (${s.mode}) got different refresh tokens: the chain forked`);
  tally.count('parallel refresh pairs');
  tally.count('rotations');
  expectEvent('session.refreshed');
}

/** When the model requires `s` to be refused everywhere (`ackAt`: when the revocation was acknowledged). */
function deadline(ackAt) {
  let at = ackAt + PROPAGATION_MS;
  if (fault.cutAt !== undefined && at >= fault.cutAt && (fault.restoredAt === undefined || ackAt <= fault.restoredAt + RESYNC_MS)) {
    at = fault.restoredAt === undefined ? Infinity : Math.max(at, fault.restoredAt + RESYNC_MS);
  }
  return at;
}

/**
 * A refusal of a revoked session's access token: `session_revoked` (or `token_expired` once
 * it has expired), with `WWW-Authenticate: Bearer error="invalid_token"` in bearer mode.
 */
function refusedAsRevoked(s, res) {
  if (res.status !== 401 || !(res.code === 'session_revoked' || (res.code === 'token_expired' && Date.now() >= s.exp - 1000))) return false;
  if (s.mode === 'bearer' && !/error="invalid_token"/.test(String(res.headers['www-authenticate'] ?? ''))) {
    tally.violation(`bearer-mode 401 ${res.code} on ${res.inst.name} without WWW-Authenticate: Bearer error="invalid_token"`);
  }
  return true;
}

/**
 * The model's core promise: once `s`'s revocation is acknowledged at `ackAt` (on `ackInst`),
 * each instance refuses it with `session_revoked` within the propagation bound, and then
 * always (the recheck loop keeps asking).
 */
async function awaitRevoked(s, ackAt, ackInst, why) {
  s.state = 'revoked';
  s.revokedAt = ackAt;
  await Promise.all(
    instances.map(async (inst) => {
      for (;;) {
        const res = await call(inst, 'GET', '/api/me', 'GET /api/me', { headers: auth(s, '/api/me', false) });
        if (refusedAsRevoked(s, res)) {
          if (inst !== ackInst) tally.propagation.push(Math.max(0, res.sentAt - ackAt));
          return;
        }
        if (res.status === 200) {
          if (res.sentAt > deadline(ackAt)) {
            tally.violation(`${why}: session still accepted by ${inst.name} ${res.sentAt - ackAt} ms after the revocation was acknowledged by ${ackInst.name}`);
            return;
          }
        } else if (res.status !== 0 && res.status < 500) {
          tally.violation(`${why}: ${inst.name} refused the revoked session with ${res.status} ${res.code} instead of 401 session_revoked`);
          return;
        } else if (res.status !== 503 || !settings.fault) {
          return; // a failure, booked by call()
        }
        if (Date.now() > deadline(ackAt) + 10_000) return;
        await sleep(50);
      }
    }),
  );
  revoked.push(s);
}

/** The refresh token of a revoked session is refused: `invalid_refresh_token`. */
async function refreshRefused(s, token, what) {
  const res = await refreshCall({ ...s, mode: 'bearer' }, token, pick(instances));
  settle(res);
  expect(res, 401, 'invalid_refresh_token', what);
}

/** A tab wakes up late and refreshes with a token rotated before the grace window: reuse, the session is revoked. */
async function lateRefresh(s) {
  await refresh(s);
  const rotated = s.history.at(-1);
  while (Date.now() < rotated.replacedAt + GRACE_MS + 300) {
    await me(s);
    await sleep(200 + Math.random() * 300);
  }
  const res = await refreshCall(s, rotated.token, pick(instances));
  settle(res, [s]);
  expect(res, 401, 'refresh_token_reused', `late refresh (${s.mode}) with a token rotated ${Date.now() - rotated.replacedAt} ms ago`);
  tally.count('late reuse detections');
  expectEvent('refresh_token.reused');
  await awaitRevoked(s, Date.now(), res.inst, `late refresh reuse (${s.mode})`);
  await refreshRefused(s, s.refresh, `refresh with the successor token of a session revoked for reuse (${s.mode})`);
}

async function logout(s) {
  const inst = pick(instances);
  const res = await call(inst, 'POST', '/auth/logout', 'POST /auth/logout', { headers: auth(s, '/auth/logout', true) });
  settle(res, [s]);
  expect(res, 204, undefined, `logout (${s.mode})`);
  if (s.mode === 'cookie') {
    const cleared = setCookies(res);
    check(/"cookies"/.test(String(res.headers['clear-site-data'] ?? '')), `logout (cookie) on ${inst.name}: no Clear-Site-Data: "cookies"`);
    check(cleared.get(AT) === '' && cleared.get(RT) === '', `logout (cookie) on ${inst.name}: the access and refresh cookies are not cleared`);
  }
  tally.count('logouts');
  expectEvent('session.revoked');
  await awaitRevoked(s, Date.now(), inst, `logout (${s.mode})`);
  await refreshRefused(s, s.refresh, `refresh after logout (${s.mode})`);
}

async function logoutAll(u, s) {
  const inst = pick(instances);
  const live = u.sessions.filter((x) => x.state === 'live');
  const res = await call(inst, 'POST', '/auth/logout-all', 'POST /auth/logout-all', { headers: auth(s, '/auth/logout-all', true), body: {} });
  settle(res, live);
  expect(res, 204, undefined, `logout-all (${s.mode})`);
  const ackAt = Date.now();
  tally.count('logouts everywhere');
  expectEvent('session.revoked', live.length);
  await Promise.all(live.map((x) => awaitRevoked(x, ackAt, inst, `logout-all (${live.length} sessions)`)));
}

/** Password change on `s` while a second device is logged in: the other is revoked, `s` re-issued under a new id. */
async function changePassword(u, s) {
  const second = await login(u, s.mode === 'bearer' ? 'cookie' : 'bearer');
  await me(second);
  const inst = pick(instances);
  const others = u.sessions.filter((x) => x.state === 'live' && x !== s);
  const newPassword = randomBytes(12).toString('base64url');
  const res = await call(inst, 'POST', '/api/me/password', 'POST /api/me/password', {
    headers: auth(s, '/api/me/password', true),
    body: { currentPassword: u.password, newPassword },
  });
  if (res.status === 0 || res.status >= 500) {
    for (const x of u.sessions) if (x.state === 'live') x.state = 'uncertain';
    uncertainOps++;
    newIdentity(u); // which password holds is unknown now
    throw new Abort('outcome unknown');
  }
  expect(res, s.mode === 'bearer' ? 200 : 204, undefined, `password change (${s.mode})`);
  const ackAt = Date.now();
  const oldPassword = u.password;
  u.password = newPassword;
  tally.count('password changes');
  expectEvent('session.revoked', others.length);
  expectEvent('session.reissued');
  const old = { ...s, history: [] };
  sessions.set(old.id, old);
  const next = s; // the same client, now holding the re-issued session
  check(absorb(next, res), `password change (${s.mode}) on ${inst.name}: new tokens missing`);
  if (s.mode === 'bearer') {
    check(typeof res.body?.session?.id === 'string' && res.body.session.id !== old.id, `password change on ${inst.name}: session ${res.body?.session?.id}`);
    next.id = res.body.session.id;
  } else {
    const who = await call(inst, 'GET', '/api/me', 'GET /api/me', { headers: auth(next, '/api/me', false) });
    settle(who, [next]);
    expect(who, 200, undefined, '/api/me after a password change (cookie)');
    check(who.body?.sessionId && who.body.sessionId !== old.id, `password change (cookie) on ${inst.name}: the session kept its id`);
    next.id = who.body.sessionId;
  }
  next.history = [];
  sessions.set(next.id, next);
  u.sessions.push(old);
  await Promise.all([
    awaitRevoked(old, ackAt, inst, 'password change (the old id of the re-issued session)'),
    ...others.map((x) => awaitRevoked(x, ackAt, inst, 'password change (another session of the user)')),
  ]);
  await me(next);
  const stale = await call(pick(instances), 'POST', '/auth/login', 'POST /auth/login', {
    headers: { 'x-auth-mode': 'bearer' },
    body: { email: u.email, password: oldPassword },
  });
  settle(stale);
  expect(stale, 401, 'invalid_credentials', 'login with the old password after a change');
  expectEvent('login.failed');
}

/** One visit of a user: log in, use the session, refresh, maybe change the password, then leave one way or another. */
async function visit(u) {
  if (!u.id) await register(u);
  await think();
  const s = await login(u);
  for (let i = 0, n = 1 + Math.floor(Math.random() * 3); i < n; i++) {
    await think();
    await me(s);
  }
  await think();
  const flavor = Math.random();
  if (flavor < 0.12) {
    await lateRefresh(s);
    return;
  }
  if (flavor < 0.35) await parallelRefresh(s);
  else await refresh(s);
  await think();
  await me(s);
  if (chance(0.12)) {
    await think();
    await changePassword(u, s);
  }
  await think();
  const end = Math.random();
  if (end < 0.45) await logout(s);
  else if (end < 0.75) await logoutAll(u, s);
  else {
    // The user walks away; the laptop's cookies (with the rotated tokens) end up with the attacker.
    if (s.history.length === 0) await refresh(s);
    s.user = { id: u.id, email: u.email, sessions: [] };
    for (const x of u.sessions) if (x.state === 'live' && x !== s) x.state = 'uncertain'; // left alone: not compared
    stolen.push(s);
    tally.count('sessions left to the attacker');
    newIdentity(u);
  }
}

async function userLoop(u) {
  while (!stopping) {
    try {
      await visit(u);
    } catch (error) {
      if (!(error instanceof Abort)) throw error;
      tally.count('visits aborted');
      for (const x of u.sessions) if (x.state === 'live') x.state = 'uncertain';
      newIdentity(u);
      if (settings.fault && fault.cutAt !== undefined && fault.restoredAt === undefined) await sleep(500);
    }
    await think();
  }
}

/** Replays rotated refresh tokens of left-behind sessions: reuse detected, the session revoked everywhere. */
async function attackerLoop() {
  while (!stopping) {
    await sleep(200 + Math.random() * 300);
    try {
      const i = stolen.findIndex((s) => s.history.at(-1).replacedAt < Date.now() - GRACE_MS - 200);
      if (i >= 0 && chance(0.8)) {
        const [s] = stolen.splice(i, 1);
        const { token } = pick(s.history);
        // The attacker is a script: it sends the stolen token as a bearer body, whatever mode it was issued in.
        const res = await refreshCall({ ...s, mode: 'bearer' }, token, pick(instances));
        settle(res, [s]);
        expect(res, 401, 'refresh_token_reused', `attacker replaying a rotated ${s.mode} refresh token`);
        tally.count('attacker replays detected');
        expectEvent('refresh_token.reused');
        await awaitRevoked(s, Date.now(), res.inst, `attacker replay (${s.mode} session)`);
        await refreshRefused(s, s.refresh, `the victim's current refresh token after the replay (${s.mode})`);
      } else if (revoked.length > 0) {
        const s = pick(revoked);
        await refreshRefused(s, s.history.at(-1)?.token ?? s.refresh, `attacker replaying a refresh token of a revoked session (${s.mode})`);
        tally.count('attacker replays of revoked sessions');
      }
    } catch (error) {
      if (!(error instanceof Abort)) throw error;
    }
  }
}

/** Keeps asking whether revoked sessions stay revoked ("and after that always"). */
async function recheckLoop() {
  while (!stopping) {
    await sleep(100);
    await gate;
    const s = revoked.length > 0 ? pick(revoked) : undefined;
    if (!s || Date.now() < deadline(s.revokedAt)) continue;
    const res = await call(pick(instances), 'GET', '/api/me', 'GET /api/me', { headers: auth(s, '/api/me', false) });
    if (res.status === 0 || res.status >= 500) continue;
    tally.rechecks++;
    if (!refusedAsRevoked(s, res)) tally.violation(`revoked session (${s.mode}) answered ${res.status} ${res.code ?? ''} on ${res.inst.name} ${Date.now() - s.revokedAt} ms after its revocation`);
  }
}

const samples = [];
let loadStartedAt;
async function sampleLoop(everyMs) {
  while (!stopping) {
    await gate;
    await takeSample();
    const until = Date.now() + everyMs;
    while (!stopping && Date.now() < until) await sleep(200);
  }
}
async function takeSample() {
  const t = (Date.now() - loadStartedAt) / 60_000;
  await Promise.all(
    instances.map(async (inst) => {
      try {
        const res = await request(inst.probeUrl, 'GET', '/?gc=1');
        samples.push({ t, inst: inst.name, rss: res.body.rss, heapUsed: res.body.heapUsed, retained: res.body.retained, code: res.body.code, loop: res.body.loop, loopTotal: res.body.loopTotal });
      } catch (error) {
        failure(`probe of ${inst.name}: ${error.message}`);
      }
    }),
  );
}

/**
 * Pauses the load (users wait at their next step), waits until no request is in flight,
 * then has each instance write a heap snapshot (it is frozen meanwhile), and lets the load
 * go on a moment after, so that what the instances queued while frozen is handled first.
 */
async function takeSnapshots(label) {
  let open;
  gate = new Promise((resolve) => (open = resolve));
  const until = Date.now() + 30_000;
  while (inFlight > 0 && Date.now() < until) await sleep(50);
  for (const inst of instances) {
    const file = join(workDir, `${inst.name}-${label}.heapsnapshot`);
    try {
      // A snapshot of a 60 MB heap takes seconds on a loaded machine: the probe answers when it is written.
      await request(inst.probeUrl, 'GET', `/?snapshot=${encodeURIComponent(file)}`, { timeout: 300_000 });
      snapshots.set(inst.name, [...(snapshots.get(inst.name) ?? []), { label, file }]);
    } catch (error) {
      failure(`heap snapshot of ${inst.name}: ${error.message}`);
    }
  }
  await sleep(2000);
  say(`heap snapshots (${label}) written`);
  open();
}

/** After the load: every acknowledged revocation still holds, every acknowledged rotation's token still works. */
async function finalPass() {
  let lost = 0;
  const describe = (text) => {
    lost++;
    tally.violation(`lost acknowledged write: ${text}`);
  };
  const queue = [...revoked.map((s) => ['revoked', s]), ...stolen.filter((s) => s.state === 'live').map((s) => ['rotated', s])];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < queue.length) {
        const [kind, s] = queue[next++];
        const inst = pick(instances);
        if (kind === 'revoked') {
          const res = await call(inst, 'GET', '/api/me', 'GET /api/me', { headers: auth(s, '/api/me', false) });
          if (res.status === 0 || res.status >= 500) continue;
          if (!refusedAsRevoked(s, res)) describe(`revoked session (${s.mode}) answered ${res.status} ${res.code ?? ''} on ${inst.name}`);
        } else {
          const res = await refreshCall({ ...s, mode: 'bearer' }, s.refresh, inst);
          if (res.status === 0 || res.status >= 500) continue;
          if (res.status !== 200) describe(`the token of an acknowledged rotation (${s.mode}) got ${res.status} ${res.code ?? ''} on ${inst.name}`);
          else expectEvent('session.refreshed');
        }
      }
    }),
  );
  return { checked: queue.length, lost };
}

/** The database against the model: session rows and their revocation, audit rows by type. */
async function compareRows(db) {
  const { rows } = await db.query('SELECT id, revoked_at IS NOT NULL AS revoked, revoked_reason FROM tessera_sessions');
  const inDb = new Map(rows.map((r) => [r.id, r]));
  const out = { rows: rows.length, revokedRows: rows.filter((r) => r.revoked).length, modelSessions: 0, modelRevoked: 0, uncertain: 0, missing: 0, lostRevocations: 0, unexpectedRevocations: 0, unknownRows: 0, mismatches: [] };
  for (const s of sessions.values()) {
    if (s.state === 'uncertain') {
      out.uncertain++;
      continue;
    }
    out.modelSessions++;
    if (s.state === 'revoked') out.modelRevoked++;
    const row = inDb.get(s.id);
    if (!row) {
      out.missing++;
      if (out.mismatches.length < 5) out.mismatches.push(`session ${s.id} (acknowledged) has no row`);
    } else if (s.state === 'revoked' && !row.revoked) {
      out.lostRevocations++;
      if (out.mismatches.length < 5) out.mismatches.push(`session ${s.id}: revocation acknowledged, row not revoked`);
    } else if (s.state === 'live' && row.revoked) {
      out.unexpectedRevocations++;
      if (out.mismatches.length < 5) out.mismatches.push(`session ${s.id}: live in the model, revoked (${row.revoked_reason}) in the database`);
    }
  }
  for (const id of inDb.keys()) if (!sessions.has(id)) out.unknownRows++;
  const events = await db.query('SELECT type, count(*)::int AS n FROM auth_events GROUP BY type ORDER BY type');
  out.events = events.rows.map((r) => ({ type: r.type, actual: r.n, expected: expectedEvents.get(r.type) ?? 0 }));
  for (const [type, n] of expectedEvents) if (!out.events.some((e) => e.type === type)) out.events.push({ type, actual: 0, expected: n });
  out.events.sort((a, b) => a.type.localeCompare(b.type));
  // Fewer rows than acknowledged operations produced: audit events lost. More: only an
  // operation of unknown outcome (a fault) may explain them.
  out.auditMissing = out.events.reduce((n, e) => n + Math.max(0, e.expected - e.actual), 0);
  out.auditExtra = out.events.reduce((n, e) => n + Math.max(0, e.actual - e.expected), 0);
  return out;
}

function build() {
  if (process.env.SOAK_SKIP_BUILD === '1') {
    say('SOAK_SKIP_BUILD=1: using the existing dist/apps/demo-api');
    return;
  }
  say('building demo-api (npx nx run demo-api:build)');
  const result = spawnSync('npx', ['nx', 'run', 'demo-api:build'], {
    cwd: projectDir,
    encoding: 'utf8',
    env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  writeFileSync(join(logDir, 'build.log'), `${result.stdout ?? ''}\n${result.stderr ?? ''}`);
  if (result.status !== 0) throw new Error(`build failed (exit ${result.status}); see ${join(logDir, 'build.log')}`);
}

const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
const f1 = (x) => (x === undefined ? '–' : x.toFixed(1));

function memoryTable() {
  const lines = [
    '| instance | RSS start / middle / end (MB) | heap used start / middle / end (MB) | heap after a full GC start / middle / end (MB) | of which compiled code start / end (MB) | RSS slope (MB/min) | heap-after-GC slope (MB/min) | second half: heap-after-GC / objects slope (MB/min) | event-loop delay p99 / max (ms) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const out = {};
  for (const inst of instances) {
    const list = samples.filter((x) => x.inst === inst.name);
    if (list.length === 0) continue;
    const [first, middle, last] = [list[0], list[Math.floor(list.length / 2)], list.at(-1)];
    // The first minute is warm-up (JIT, pools, caches): the slope is fitted after it when the run is long enough.
    const fitted = list.length > 6 && list.at(-1).t > 3 ? list.filter((x) => x.t >= 1) : list;
    const rssSlope = slope(fitted.map((x) => x.t), fitted.map((x) => x.rss / 1024 / 1024));
    const heapSlope = slope(fitted.map((x) => x.t), fitted.map((x) => x.retained / 1024 / 1024));
    // The second half: past the warm-up, and (for runs longer than twice the access-token
    // lifetime) past the time the revocation cache fills. "Objects" leaves out V8's compiled
    // code, which grows while the JIT optimizes more of the app and is not a leak of the app's.
    const late = list.filter((x) => x.t >= list.at(-1).t / 2);
    const lateHeapSlope = late.length > 3 ? slope(late.map((x) => x.t), late.map((x) => x.retained / 1024 / 1024)) : undefined;
    const lateObjectSlope = late.length > 3 && late.every((x) => x.code !== undefined) ? slope(late.map((x) => x.t), late.map((x) => (x.retained - x.code) / 1024 / 1024)) : undefined;
    const code = (x) => (x.code === undefined ? '–' : mb(x.code));
    out[inst.name] = { rssSlope, heapSlope, lateHeapSlope, lateObjectSlope, loopP99: last.loopTotal.p99, loopMax: last.loopTotal.max, windowP99Max: Math.max(...list.map((x) => x.loop.p99)) };
    lines.push(
      `| ${inst.name} | ${mb(first.rss)} / ${mb(middle.rss)} / ${mb(last.rss)} | ${mb(first.heapUsed)} / ${mb(middle.heapUsed)} / ${mb(last.heapUsed)} | ${mb(first.retained)} / ${mb(middle.retained)} / ${mb(last.retained)} | ${code(first)} / ${code(last)} | ${rssSlope?.toFixed(2) ?? '–'} | ${heapSlope?.toFixed(2) ?? '–'} | ${lateHeapSlope?.toFixed(2) ?? '–'} / ${lateObjectSlope?.toFixed(2) ?? '–'} | ${f1(last.loopTotal.p99)} / ${f1(last.loopTotal.max)} |`,
    );
  }
  for (const inst of instances) {
    const files = snapshots.get(inst.name) ?? [];
    if (files.length < 2) continue;
    const diff = heapDiff(files[0].file, files.at(-1).file, 12);
    out[inst.name].heapDiff = diff;
    lines.push('', `**${inst.name}**, heap snapshots at ${files[0].label} of the run and at the ${files.at(-1).label} (load paused and drained for both; \`node soak/lib/heap-diff.mjs ${files[0].file} ${files.at(-1).file}\`):`, '', heapDiffTable(diff));
  }
  return { text: lines.join('\n'), perInstance: out };
}

function render({ rows, final, elapsedSec, db, memory }) {
  const statuses = [...tally.byStatus.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(', ');
  const prop = [...tally.propagation].sort((a, b) => a - b);
  const at = (p) => (prop.length ? prop[Math.min(prop.length, Math.max(1, Math.ceil((p / 100) * prop.length))) - 1] : undefined);
  const counts = [...tally.counts.entries()].sort().map(([k, v]) => `${k} ${v}`).join(', ');
  const md = [];
  md.push(`# Soak: ${settings.minutes} min, ${settings.users} users, two instances${settings.fault ? ', PostgreSQL cut for 5 s midway' : ''}`);
  md.push('');
  md.push(`- Command: \`${commandLine()}\``);
  md.push(`- Date: ${new Date().toISOString()}; machine: ${os.availableParallelism()} CPUs, Node ${process.version}; PostgreSQL ${db.version} (${db.source}); wall time ${elapsedSec.toFixed(0)} s`);
  md.push(`- Setup: two demo instances (Express, \`REVOCATION_MODE=cached\`, PostgreSQL store, \`REFRESH_REUSE_GRACE=${settings.grace}\`) on one fresh database${settings.fault ? ', each reaching it through a TCP proxy' : ''}`);
  if (settings.fault) md.push(`- Fault: proxy cut at ${((fault.cutAt - loadStartedAt) / 1000).toFixed(1)} s for ${settings.faultSeconds} s (all connections closed, new ones refused)`);
  md.push('');
  md.push('## Verdict');
  md.push('');
  md.push(`- Requests: ${tally.requests} (${(tally.requests / (settings.minutes * 60)).toFixed(0)}/s); answers by status: ${statuses}`);
  md.push(`- Contract violations: **${tally.violations}**`);
  md.push(`- 5xx other than the designed \`503 store_unavailable\` of a fault: **${tally.failed5xx}**; transport errors: **${tally.transportErrors}**`);
  if (settings.fault) md.push(`- \`503 store_unavailable\` (designed during the fault): ${tally.designed503}, of which outside the fault window (cut to restore + ${RECOVERY_MS / 1000} s): **${tally.designed503Outside}**`);
  md.push(`- Lost acknowledged writes: **${final.lost}** (final pass over ${final.checked} sessions: every acknowledged revocation refused, every acknowledged rotation's token accepted; plus the recheck loop: ${tally.rechecks} rechecks of revoked sessions during the run)`);
  md.push(`- Propagation (first refusal on the other instance after an acknowledged revocation, upper bound: the send time of that request): p50 ${at(50) ?? '–'} ms, p99 ${at(99) ?? '–'} ms, max ${prop.at(-1) ?? '–'} ms over ${prop.length} revocations (bound ${PROPAGATION_MS} ms)`);
  md.push(`- Workload: ${counts}`);
  if (tally.described.length) {
    md.push('');
    md.push('First violations:');
    md.push('');
    for (const line of tally.described) md.push(`- ${line}`);
  }
  if (failures.length) {
    md.push('');
    md.push('First failures (5xx, transport errors, probe errors):');
    md.push('');
    for (const line of failures) md.push(`- ${line}`);
  }
  md.push('');
  md.push('## Latency per route (ms, whole run, as the client saw it)');
  md.push('');
  md.push('| route | requests | 5xx | p50 | p99 | max |');
  md.push('|---|---|---|---|---|---|');
  for (const r of tally.routes()) md.push(`| ${r.route} | ${r.count} | ${r.errors5xx} | ${f1(r.p50)} | ${f1(r.p99)} | ${f1(r.max)} |`);
  md.push('');
  md.push('## Memory and event loop (sampled inside each instance)');
  md.push('');
  md.push(memory.text);
  md.push('');
  md.push('Every sample runs a full GC in the instance first (one pause per instance per sample): "heap used" is read before it, "heap after a full GC" after it, what the app retains.');
  md.push('');
  md.push(`RSS and heap from \`process.memoryUsage()\`, event-loop delay from \`perf_hooks.monitorEventLoopDelay\` (10 ms resolution, whole run), both served by \`soak/lib/process-probe.cjs\`, preloaded with \`node --require\` and listening on a port of its own: the app has no new route. Slope: least-squares fit over the samples${samples.length && samples.at(-1).t > 3 ? ' after the first minute (warm-up)' : ''}, ${samples.length} samples; the second-half slopes fit the samples of the second half only, "objects" being the heap after a full GC less V8's compiled code (its code spaces, which grow while the JIT warms up).`);
  md.push('');
  md.push('## Database rows against the model (after both instances stopped, so the audit buffer is flushed)');
  md.push('');
  md.push(`- \`tessera_sessions\`: ${rows.rows} rows, ${rows.revokedRows} revoked. The model acknowledged ${rows.modelSessions} sessions (${rows.modelRevoked} revoked); ${rows.uncertain} more had an unknown outcome (a 5xx or a visit cut short) and are not compared; ${rows.unknownRows} rows are unknown to the model.`);
  md.push(`- Acknowledged sessions without a row: **${rows.missing}**; acknowledged revocations not in the row: **${rows.lostRevocations}**; revoked rows the model holds live: **${rows.unexpectedRevocations}**`);
  for (const line of rows.mismatches) md.push(`  - ${line}`);
  md.push('');
  md.push('| `auth_events` type | rows | model expects |');
  md.push('|---|---|---|');
  for (const e of rows.events) md.push(`| ${e.type} | ${e.actual} | ${e.expected}${e.actual === e.expected ? '' : ' ≠'} |`);
  md.push('');
  md.push(`Audit rows missing against the model (events of acknowledged operations that never reached \`auth_events\`): **${rows.auditMissing}**; rows beyond the model: ${rows.auditExtra}. Unknown outcomes (5xx or dropped answers): ${uncertainOps}; the model counts acknowledged operations only, so with a fault the rows may exceed it by what those did (without a fault any difference fails the run).`);
  return md.join('\n');
}

function commandLine() {
  const shown = ['SOAK_MINUTES', 'SOAK_USERS', 'SOAK_FAULT', 'SOAK_GRACE', 'SOAK_HEAP_SNAPSHOTS', 'SOAK_SKIP_BUILD'].filter((n) => process.env[n]);
  return [...shown.map((n) => `${n}=${process.env[n]}`), 'npm run soak'].join(' ');
}

let db;
let proxy;
async function teardown() {
  stopping = true;
  await Promise.all(instances.map((inst) => inst.stop().catch(() => undefined)));
  await proxy?.close().catch(() => undefined);
  await db?.close().catch(() => undefined);
}

async function main() {
  const startedAt = Date.now();
  say(`work dir ${workDir}; ${settings.minutes} min, ${settings.users} users${settings.fault ? ', fault midway' : ''}`);
  build();
  db = await openBenchDatabase({ databaseUrl: process.env.DATABASE_URL || undefined, log: () => undefined });
  say(`PostgreSQL ${db.version} (${db.source}), database ${db.name}`);
  let appDb = db.url;
  if (settings.fault) {
    const target = new URL(db.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    target.hostname = '127.0.0.1';
    target.port = String(proxy.port);
    appDb = target.toString();
    say(`the instances reach PostgreSQL through the proxy on port ${proxy.port}`);
  }
  const secrets = { jwt: randomBytes(48).toString('base64url'), session: randomBytes(48).toString('base64url') };
  const env = { ...appEnv({ databaseUrl: appDb, secrets, revocationMode: 'cached' }), REFRESH_REUSE_GRACE: settings.grace, ALLOWED_ORIGINS: ORIGIN, BENCH_ROUTES: 'false' };
  // One at a time: the first runs the migrations.
  for (const name of ['soak-a', 'soak-b']) {
    const probePort = await freePort();
    const app = await startApp({ projectDir, logDir, name, env: { ...env, SOAK_PROBE_PORT: String(probePort) }, preload: [PROBE] });
    app.probeUrl = `http://127.0.0.1:${probePort}/`;
    instances.push(app);
    say(`${name} on ${app.url} (pid ${app.pid})`);
  }
  const durationMs = settings.minutes * 60_000;
  loadStartedAt = Date.now();
  const loops = [
    ...Array.from({ length: settings.users }, () => {
      const u = {};
      newIdentity(u);
      return userLoop(u);
    }),
    attackerLoop(),
    recheckLoop(),
    sampleLoop(Math.max(2000, durationMs / 60)),
  ];
  const faultRun = settings.fault
    ? (async () => {
        await sleep(durationMs / 2);
        if (stopping) return;
        say(`cutting the proxy for ${settings.faultSeconds} s`);
        fault.cutAt = Date.now();
        proxy.cut();
        await sleep(settings.faultSeconds * 1000);
        proxy.restore();
        fault.restoredAt = Date.now();
        say('proxy restored');
      })()
    : Promise.resolve();
  const snapshotRun = settings.heapSnapshots
    ? (async () => {
        await sleep(durationMs * 0.4);
        if (!stopping) await takeSnapshots('40%');
      })()
    : Promise.resolve();
  const progress = setInterval(() => say(`${((Date.now() - loadStartedAt) / 60_000).toFixed(1)} min: ${tally.requests} requests, ${tally.violations} violations, ${tally.failed5xx} failed 5xx${settings.fault ? `, ${tally.designed503} designed 503` : ''}`), 30_000);
  await sleep(durationMs);
  stopping = true;
  clearInterval(progress);
  say('load done; waiting for the visits in flight');
  await Promise.race([Promise.all([...loops, faultRun, snapshotRun]), sleep(60_000)]);
  await takeSample();
  if (settings.heapSnapshots) await takeSnapshots('end');
  const memory = memoryTable();
  await sleep(PROPAGATION_MS + 200);
  const final = await finalPass();
  say(`final pass: ${final.checked} sessions checked, ${final.lost} lost writes`);
  await Promise.all(instances.map((inst) => inst.stop()));
  const rows = await compareRows(db);
  const elapsedSec = (Date.now() - startedAt) / 1000;
  const markdown = render({ rows, final, elapsedSec, db, memory });
  const outFile = resolve(process.env.SOAK_OUT || join(workDir, 'soak.md'));
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, `${markdown}\n`);
  writeFileSync(join(workDir, 'results.json'), JSON.stringify({ settings, tally: { requests: tally.requests, byStatus: Object.fromEntries(tally.byStatus), violations: tally.violations, described: tally.described, failed5xx: tally.failed5xx, designed503: tally.designed503, designed503Outside: tally.designed503Outside, transportErrors: tally.transportErrors, routes: tally.routes(), counts: Object.fromEntries(tally.counts) }, memory: memory.perInstance, samples, rows, final }, null, 1));
  process.stdout.write(`\n${markdown}\n\n`);
  say(`report ${outFile}; logs in ${logDir}`);
  const rowProblems = rows.missing + rows.lostRevocations + rows.auditMissing + (settings.fault ? 0 : rows.unexpectedRevocations + rows.unknownRows + rows.auditExtra);
  const failed = tally.violations + tally.failed5xx + tally.transportErrors + tally.designed503Outside + final.lost + rowProblems;
  if (failed > 0) {
    say(`FAILED: ${tally.violations} violations, ${tally.failed5xx} non-designed 5xx, ${tally.transportErrors} transport errors, ${tally.designed503Outside} 503s outside the fault window, ${final.lost} lost writes, ${rowProblems} row mismatches (sessions and audit)`);
    return 1;
  }
  say('passed: 0 violations, 0 non-designed 5xx, 0 lost writes');
  return 0;
}

main().then(
  async (code) => {
    await teardown();
    process.exit(code);
  },
  async (error) => {
    process.stderr.write(`soak failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    await teardown();
    process.exit(1);
  },
);
process.on('SIGINT', () => {
  void teardown().then(() => process.exit(130));
});
