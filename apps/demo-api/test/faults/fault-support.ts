import { startTcpProxy } from '@tessera/testing-support';
import type { TcpProxy } from '@tessera/testing-support';
import type request from 'supertest';

/** The test database's URL (from the demo's Jest global setup). */
export function testDatabaseUrl(): URL {
  const value = process.env.TESSERA_TEST_DATABASE_URL;
  if (!value) throw new Error('TESSERA_TEST_DATABASE_URL is not set: run through the demo-api Jest config');
  return new URL(value);
}

/** A TCP proxy in front of the test's PostgreSQL, and the database URL through it. */
export async function postgresProxy(): Promise<{ proxy: TcpProxy; url: string }> {
  const server = testDatabaseUrl();
  const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
  const url = new URL(server.toString());
  url.hostname = '127.0.0.1';
  url.port = String(proxy.port);
  return { proxy, url: url.toString() };
}

/** Polls `probe` until `done` holds, for at most `ms` (reconnecting takes a backoff or two); returns the last answer. */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The designed answer while a store or the database is down: 503 store_unavailable with Retry-After, nothing internal. */
export function expectStoreUnavailable(response: request.Response): void {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status: 503, code: 'store_unavailable' });
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  expect(response.text).not.toMatch(/ECONNREFUSED|ECONNRESET|terminat|stack|SELECT|INSERT|auth_events|tessera_sessions|Query read timeout/i);
}
