// The store's contract suite runs on the server in DATABASE_URL and on an embedded server.
process.env.TESSERA_TEST_EMBEDDED = 'always';

export default {
  displayName: 'session-typeorm',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  globalSetup: '../../tools/testing/postgres.global-setup.ts',
  globalTeardown: '../../tools/testing/postgres.global-teardown.ts',
  // Hooks boot Nest apps and create databases: generous on a loaded two-core machine
  // (Jest's default of 5 s failed a quick-start hook under load).
  testTimeout: 30_000,
  coverageDirectory: '../../coverage/libs/session-typeorm',
};
