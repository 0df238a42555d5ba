import { randomBytes } from 'node:crypto';

// The `npm start` tests run the embedded server themselves: the global setup checks it can start.
process.env.TESSERA_TEST_EMBEDDED = 'probe';
// Every Redis key prefix of this run starts with it (TESSERA_TEST_SESSION_STORE=redis); the teardown deletes them.
process.env.TESSERA_TEST_REDIS_RUN ??= `tessera-demo-test-${randomBytes(4).toString('hex')}`;

export default {
  displayName: 'demo-api',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // The Chromium suite has its own config (jest.browser.config.ts, `nx run demo-api:test-browser`).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/browser/'],
  // The demo page's build (GET / serves it), then the shared PostgreSQL setup.
  globalSetup: './test/support/global-setup.ts',
  // The shared PostgreSQL teardown, after deleting the run's Redis keys.
  globalTeardown: './test/support/global-teardown.ts',
  // HTTP tests share one database (on Redis: one server, each file under its own key prefix);
  // they use unique emails, so files may run in parallel.
  testTimeout: 30_000,
  coverageDirectory: '../../coverage/apps/demo-api',
};
