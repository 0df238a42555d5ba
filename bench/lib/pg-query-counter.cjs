// Preloaded into the demo app by the benchmark (`node --require`): counts the queries
// the app sends through node-postgres (each Client#query is one round trip: the
// extended protocol sends parse/bind/execute/sync in one write and waits for the
// answer) and serves the counts, by statement kind, on 127.0.0.1:$BENCH_QUERY_COUNTER_PORT.
// It changes nothing else; the app does not know it is there.
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

const original = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(config, ...rest) {
  const text = typeof config === 'string' ? config : config && typeof config.text === 'string' ? config.text : '';
  const key = cachedKind(text);
  counts.set(key, (counts.get(key) ?? 0) + 1);
  total++;
  return original.call(this, config, ...rest);
};

if (Number.isInteger(port) && port > 0) {
  const server = http.createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ total, byKind: Object.fromEntries(counts) }));
  });
  server.listen(port, '127.0.0.1');
  server.unref();
}
