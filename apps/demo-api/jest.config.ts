// The `npm start` tests run the embedded server themselves: the global setup checks it can start.
process.env.TESSERA_TEST_EMBEDDED = 'probe';

export default {
  displayName: 'demo-api',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  globalSetup: '../../tools/testing/postgres.global-setup.ts',
  globalTeardown: '../../tools/testing/postgres.global-teardown.ts',
  // HTTP tests share one database; they use unique emails, so files may run in parallel.
  testTimeout: 30_000,
  coverageDirectory: '../../coverage/apps/demo-api',
};
