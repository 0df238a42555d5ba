// PostgreSQL for the benchmark: the server named by DATABASE_URL, or an embedded one
// started here; either way each run works in a fresh database it creates and drops.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../tools/embedded-postgres/src/index.mjs';

/** An embedded server in a temporary data directory, removed when it stops. */
async function startEmbedded(log) {
  const dataRoot = await mkdtemp(join(tmpdir(), 'tessera-bench-pg-'));
  let server;
  try {
    server = await startEmbeddedPostgres({
      dataDir: dataRoot,
      database: 'postgres',
      settings: { max_connections: 200 },
      onLog: (text) => log(String(text).trimEnd()),
    });
  } catch (error) {
    await rm(dataRoot, { recursive: true, force: true });
    throw error;
  }
  return {
    adminUrl: server.serverUrl,
    stop: async () => {
      await server.stop();
      await rm(dataRoot, { recursive: true, force: true });
      // As root with the data directory out of the postgres user's reach, the cluster lives elsewhere.
      if (server.dataDir !== dataRoot) await rm(server.dataDir, { recursive: true, force: true });
    },
  };
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
export async function openBenchDatabase({ databaseUrl, log }) {
  const embedded = databaseUrl ? undefined : await startEmbedded(log);
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
