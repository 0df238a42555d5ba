export default {
  displayName: 'client',
  preset: '../../jest.preset.js',
  // The logic is tested in Node (20 has fetch, Response, Headers) against injected fakes of
  // the browser's locks, channels, storage and document; Chromium runs the real thing (apps/demo-api e2e).
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/libs/client',
};
