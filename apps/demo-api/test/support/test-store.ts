import { randomBytes } from 'node:crypto';

/** The session store a test run uses. */
export type TestSessionStore = 'postgres' | 'redis';

/**
 * The session store the demo's tests run on: TESSERA_TEST_SESSION_STORE, `postgres` (the
 * default, `nx test demo-api`) or `redis` (`nx run demo-api:test-redis`). Every test that
 * starts the app runs on it; a test about one backend only says why.
 */
export function testSessionStore(): TestSessionStore {
  const store = process.env.TESSERA_TEST_SESSION_STORE ?? 'postgres';
  if (store !== 'postgres' && store !== 'redis') throw new Error(`TESSERA_TEST_SESSION_STORE must be postgres or redis (got "${store}")`);
  return store;
}

/**
 * The shared Redis server of the run: REDIS_URL, or redis://127.0.0.1:6379, as for the
 * libraries' specs (`testRedisUrl` of @tessera/testing-support, which the global teardown
 * cannot import: Jest loads it without the path aliases).
 */
export function testRedisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** What every key prefix of this run starts with; the global teardown deletes the run's keys by it. */
export function testRunPrefix(): string {
  const prefix = process.env.TESSERA_TEST_REDIS_RUN;
  if (!prefix) throw new Error('TESSERA_TEST_REDIS_RUN is not set: run through the demo-api Jest config (it sets it)');
  return prefix;
}

/**
 * This test file's Redis key prefix (module state: Jest loads this module once per file).
 * The apps of one file share it, as they share the database, so that a second instance
 * sees the first one's sessions; other files, and other runs on the same server, never do.
 */
const filePrefix = () => `${testRunPrefix()}-${fileSuffix}`;
const fileSuffix = randomBytes(4).toString('hex');

/** The environment that puts an app on the run's session store (empty on PostgreSQL). */
export function testStoreEnv(): Record<string, string> {
  if (testSessionStore() === 'postgres') return {};
  return { SESSION_STORE: 'redis', REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: filePrefix() };
}
