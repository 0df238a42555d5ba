/**
 * The demo's Chromium suite (`nx run demo-api:test-browser`): the page served at `/`,
 * driven by Debian's Chromium through playwright-core, against the app on Express and
 * real PostgreSQL. Apart from the default config (which ignores test/browser/) because
 * a browser per file is heavy: one file at a time, longer timeouts.
 */
export default {
  displayName: 'demo-api:browser',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/test/browser/**/*.browser.spec.ts'],
  // The demo suite's own: the page's build (when its sources changed), then a fresh PostgreSQL database; dropped at the end.
  globalSetup: './test/support/global-setup.ts',
  globalTeardown: './test/support/global-teardown.ts',
  // One Chromium at a time: on a 2-core CI machine parallel browsers only make every timing bound tighter.
  maxWorkers: 1,
  testTimeout: 90_000,
};
