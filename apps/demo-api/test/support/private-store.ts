import { Client } from 'pg';
import type request from 'supertest';
import { startTcpProxy } from '@tessera/testing-support';
import { testSessionStore } from './demo-app';
import { testRedisUrl } from './test-store';

/** A session store of a test's own, that it can take down and bring back. */
export interface PrivateStore {
  /** What startDemoApp needs to put the app on it. */
  env: Record<string, string>;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The run's backend, private to one test: on PostgreSQL a database of its own (the sessions
 * and the users are both there: its outage is the database's), closed to connections; on
 * Redis the shared server behind a proxy that cuts every connection (PostgreSQL stays up).
 */
export async function privateStore(): Promise<PrivateStore> {
  if (testSessionStore() === 'redis') {
    const server = new URL(testRedisUrl());
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 6379) });
    return {
      env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` },
      down: async () => proxy.cut(),
      up: async () => proxy.restore(),
      close: () => proxy.close(),
    };
  }
  const base = new URL(String(process.env.TESSERA_TEST_DATABASE_URL));
  const database = `tessera_outage_${process.pid}_${Date.now()}`;
  const admin = new Client({ connectionString: base.toString() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(base.toString());
  url.pathname = `/${database}`;
  return {
    env: { DATABASE_URL: url.toString() },
    down: async () => {
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS false`);
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [database]);
    },
    up: async () => {
      await admin.query(`ALTER DATABASE ${database} ALLOW_CONNECTIONS true`);
    },
    close: async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** Polls `probe` until it answers `status`, for at most 20 s (reconnecting takes a backoff or two). */
export async function eventually(probe: () => Promise<request.Response>, status: number): Promise<request.Response> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await probe();
    if (response.status === status || Date.now() > deadline) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
