export default {
  displayName: 'session-redis',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // Checks the shared Redis (REDIS_URL) and starts one Redis Cluster for the run (TESSERA_REDIS_CLUSTER_URLS).
  globalSetup: '../../tools/testing/redis.global-setup.ts',
  globalTeardown: '../../tools/testing/redis.global-teardown.ts',
  // Outage tests wait (bounded by 20 s) for clients to notice a server going and coming back.
  testTimeout: 30_000,
  coverageDirectory: '../../coverage/libs/session-redis',
};
