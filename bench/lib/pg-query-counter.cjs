// Preloaded into the demo app by the benchmark (`node --require`): counts the queries
// the app sends through node-postgres (each Client#query is one round trip: the
// extended protocol sends parse/bind/execute/sync in one write and waits for the
// answer) and serves the counts, by statement kind, on 127.0.0.1:$BENCH_QUERY_COUNTER_PORT.
// It changes nothing else; the app does not know it is there.
//
// GET / answers { total, byKind }. Each query's time is kept too (monotonic microseconds,
// the clock of process.hrtime.bigint() in any process of the machine), so that
// GET /?at=t1,t2,... also answers `at`: the { total, byKind } counted up to each of those
// times. The bench's interleaved runs ask once, after the run, for the counts at every
// route switch, whatever the app's event loop was busy with at those moments.
'use strict';
const http = require('node:http');
const { createRequire } = require('node:module');
const { join } = require('node:path');

const port = Number(process.env.BENCH_QUERY_COUNTER_PORT);
// The app's own `pg` (resolved from the project, as the app's bundle does).
const pg = createRequire(join(process.cwd(), 'package.json'))('pg');

const counts = new Map();
let total = 0;

/** "UPDATE tessera_sessions", "INSERT INTO auth_events", "SELECT 1", "BEGIN", ... */
function kind(text) {
  const words = String(text).replace(/["`]/g, '').trim().split(/\s+/);
  const verb = (words[0] ?? '').toUpperCase();
  const rest = words.slice(1).map((w) => w.toLowerCase());
  const after = (keyword) => {
    const i = rest.indexOf(keyword);
    return i >= 0 && rest[i + 1] ? rest[i + 1].replace(/[(,;].*$/, '') : undefined;
  };
  switch (verb) {
    case 'SELECT':
      return `SELECT ${after('from') ?? rest.slice(0, 1).join(' ')}`;
    case 'INSERT':
      return `INSERT ${after('into') ?? ''}`;
    case 'UPDATE':
      return `UPDATE ${rest[0] ?? ''}`;
    case 'DELETE':
      return `DELETE ${after('from') ?? ''}`;
    case 'WITH':
      return 'WITH …';
    default:
      return verb;
  }
}

// The app sends a handful of distinct statements: classify each text once, so that
// counting costs a map lookup, not string work on every query.
const kinds = new Map();
function cachedKind(text) {
  let found = kinds.get(text);
  if (found === undefined) {
    found = kind(text);
    if (kinds.size < 1_000) kinds.set(text, found);
  }
  return found;
}

// Query times and kinds, in chunks; up to MAX_LOGGED queries (then `at` is refused).
const CHUNK = 65_536;
const MAX_LOGGED = 4 * 1024 * 1024;
const timeChunks = [];
const kindChunks = [];
const kindNames = [];
const kindIndex = new Map();
// performance.now() and process.hrtime() read the same monotonic clock (uv_hrtime).
const monoOffsetMicros = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;

function log(key) {
  if (total > MAX_LOGGED) return;
  let k = kindIndex.get(key);
  if (k === undefined) {
    k = kindNames.length;
    kindNames.push(key);
    kindIndex.set(key, k);
  }
  const i = total - 1;
  const chunk = Math.floor(i / CHUNK);
  if (chunk === timeChunks.length) {
    timeChunks.push(new Float64Array(CHUNK));
    kindChunks.push(new Uint16Array(CHUNK));
  }
  timeChunks[chunk][i % CHUNK] = performance.now() * 1000 + monoOffsetMicros;
  kindChunks[chunk][i % CHUNK] = k;
}

/** { total, byKind } of the queries sent up to each time of `times` (ascending or not). */
function countsAt(times) {
  const order = times.map((t, i) => [t, i]).sort((a, b) => a[0] - b[0]);
  const out = new Array(times.length);
  const perKind = new Array(kindNames.length).fill(0);
  const logged = Math.min(total, MAX_LOGGED);
  let i = 0;
  for (const [t, index] of order) {
    while (i < logged && timeChunks[Math.floor(i / CHUNK)][i % CHUNK] <= t) {
      perKind[kindChunks[Math.floor(i / CHUNK)][i % CHUNK]]++;
      i++;
    }
    const byKind = {};
    for (let k = 0; k < perKind.length; k++) if (perKind[k] > 0) byKind[kindNames[k]] = perKind[k];
    out[index] = { total: i, byKind };
  }
  return out;
}

const original = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(config, ...rest) {
  const text = typeof config === 'string' ? config : config && typeof config.text === 'string' ? config.text : '';
  const key = cachedKind(text);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  total++;
  log(key);
  return original.call(this, config, ...rest);
};

if (Number.isInteger(port) && port > 0) {
  const server = http.createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    const at = new URL(request.url, 'http://counter').searchParams.get('at');
    if (at === null) {
      response.end(JSON.stringify({ total, byKind: Object.fromEntries(counts) }));
      return;
    }
    if (total > MAX_LOGGED) {
      response.statusCode = 507;
      response.end(JSON.stringify({ error: `more than ${MAX_LOGGED} queries: times no longer kept` }));
      return;
    }
    const times = at.split(',').map(Number);
    response.end(JSON.stringify({ total, byKind: Object.fromEntries(counts), at: countsAt(times) }));
  });
  server.listen(port, '127.0.0.1');
  server.unref();
}
