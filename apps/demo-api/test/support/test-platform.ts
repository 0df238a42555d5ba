/** The HTTP platform a test run uses. */
export type TestHttpAdapter = 'express' | 'fastify';

/**
 * The HTTP platform the demo's tests run on: TESSERA_TEST_HTTP_ADAPTER, `express` (the
 * default, `nx test demo-api`) or `fastify` (`nx run demo-api:test-fastify`). Every test
 * that starts the app runs on it; a test about one platform only says why.
 */
export function testHttpAdapter(): TestHttpAdapter {
  const adapter = process.env.TESSERA_TEST_HTTP_ADAPTER ?? 'express';
  if (adapter !== 'express' && adapter !== 'fastify') {
    throw new Error(`TESSERA_TEST_HTTP_ADAPTER must be express or fastify (got "${adapter}")`);
  }
  return adapter;
}

/** The environment that puts an app on the run's HTTP platform. */
export function testPlatformEnv(): Record<string, string> {
  return { HTTP_ADAPTER: testHttpAdapter() };
}
