/**
 * Jest global setup for suites that need PostgreSQL. Uses the server in
 * DATABASE_URL when set (CI points it at the machine's server); otherwise starts an
 * embedded server, so `npm test` passes on a machine with no PostgreSQL at all.
 * Each run gets its own fresh database, dropped at the end.
 *
 * `TESSERA_TEST_EMBEDDED` asks for an embedded server even when DATABASE_URL is set:
 * `always` (projects whose stores must also pass on it) starts one and exposes it as
 * TESSERA_EMBEDDED_DATABASE_URL; `probe` (projects that start their own, such as the
 * demo's `npm start` tests) only checks that one can start. With DATABASE_URL set, an
 * embedded server that cannot start is not an error: TESSERA_EMBEDDED_UNAVAILABLE says
 * why, those tests are skipped, and one line says so.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
// Relative, not the @tessera/embedded-postgres alias: Jest loads its global setup without moduleNameMapper.
import { startEmbeddedPostgres } from '../embedded-postgres/src/index.mjs';
import type { EmbeddedPostgres } from '../embedded-postgres/src/index.mjs';

interface TestDatabaseState {
  cleanups: Array<() => Promise<void>>;
}

declare global {
  var __TESSERA_TEST_DATABASE__: TestDatabaseState | undefined;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function createDatabase(serverUrl: string, state: TestDatabaseState): Promise<string> {
  const name = `tessera_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  await admin.end();
  state.cleanups.unshift(async () => {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
    await client.end();
  });
  return withDatabase(serverUrl, name);
}

async function startEmbedded(state: TestDatabaseState): Promise<EmbeddedPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-pg-'));
  const server = await startEmbeddedPostgres({ dataDir, database: 'postgres' });
  state.cleanups.push(async () => {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    // As root with dataDir out of the postgres user's reach, the cluster lives elsewhere.
    if (server.dataDir !== dataDir) await rm(server.dataDir, { recursive: true, force: true });
  });
  return server;
}

export default async function globalSetup(): Promise<void> {
  const state: TestDatabaseState = { cleanups: [] };
  globalThis.__TESSERA_TEST_DATABASE__ = state;
  const wanted = process.env.TESSERA_TEST_EMBEDDED;
  let embedded: EmbeddedPostgres | undefined;
  if (!process.env.DATABASE_URL || wanted === 'always' || wanted === 'probe') {
    try {
      embedded = await startEmbedded(state);
      if (wanted === 'probe' && process.env.DATABASE_URL) {
        // It starts: that is all a probe needs to know; free it for the tests' own servers.
        await state.cleanups.pop()?.();
        embedded = undefined;
      } else {
        process.env.TESSERA_EMBEDDED_DATABASE_URL = await createDatabase(embedded.serverUrl, state);
      }
    } catch (error) {
      if (!process.env.DATABASE_URL) throw error;
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      process.env.TESSERA_EMBEDDED_UNAVAILABLE = reason;
      process.stdout.write(`\nThe embedded PostgreSQL server cannot start here; its tests are skipped: ${reason}\n`);
    }
  }
  const serverUrl = process.env.DATABASE_URL ?? embedded!.serverUrl;
  process.env.TESSERA_TEST_DATABASE_URL = process.env.DATABASE_URL
    ? await createDatabase(serverUrl, state)
    : process.env.TESSERA_EMBEDDED_DATABASE_URL;
}
