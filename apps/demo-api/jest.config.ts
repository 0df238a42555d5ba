import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';

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
  // At least two workers (Jest's default is one less than the cores: one, in band, on the
  // 2-core CI machine). The files mostly wait (servers and builds starting, TTLs expiring),
  // so two at a time use the idle core: measured on that machine, 228 s (72 % CPU) with one,
  // 107 s (165 % CPU) with two. npm test runs this config three times (Express, Redis store,
  // Fastify).
  maxWorkers: Math.max(2, availableParallelism() - 1),
  coverageDirectory: '../../coverage/apps/demo-api',
};
