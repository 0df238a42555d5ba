/**
 * Jest global setup for suites that need PostgreSQL. Uses the server in
 * DATABASE_URL when set (CI points it at the machine's server); otherwise starts an
 * embedded server, so `npm test` passes on a machine with no PostgreSQL at all.
 * Each run gets its own fresh database, dropped at the end.
 *
 * With `TESSERA_TEST_EMBEDDED=always` (set by projects whose stores must also pass
 * on the embedded server) an embedded server is started even when DATABASE_URL is
 * set, and exposed as TESSERA_EMBEDDED_DATABASE_URL.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../../apps/demo-api/src/database/embedded-postgres';
import type { EmbeddedPostgres } from '../../apps/demo-api/src/database/embedded-postgres';

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
  });
  return server;
}

export default async function globalSetup(): Promise<void> {
  const state: TestDatabaseState = { cleanups: [] };
  globalThis.__TESSERA_TEST_DATABASE__ = state;
  let embedded: EmbeddedPostgres | undefined;
  if (!process.env.DATABASE_URL || process.env.TESSERA_TEST_EMBEDDED === 'always') {
    embedded = await startEmbedded(state);
    process.env.TESSERA_EMBEDDED_DATABASE_URL = await createDatabase(embedded.serverUrl, state);
  }
  const serverUrl = process.env.DATABASE_URL ?? embedded!.serverUrl;
  process.env.TESSERA_TEST_DATABASE_URL = process.env.DATABASE_URL
    ? await createDatabase(serverUrl, state)
    : process.env.TESSERA_EMBEDDED_DATABASE_URL;
}
