// The store's contract suite runs on the server in DATABASE_URL and on an embedded server.
process.env.TESSERA_TEST_EMBEDDED = 'always';

export default {
  displayName: 'session-typeorm',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  globalSetup: '../../tools/testing/postgres.global-setup.ts',
  globalTeardown: '../../tools/testing/postgres.global-teardown.ts',
  coverageDirectory: '../../coverage/libs/session-typeorm',
};
