export default {
  displayName: 'session',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
  // Hooks boot Nest apps and create databases: generous on a loaded two-core machine
  // (Jest's default of 5 s failed a quick-start hook under load).
  testTimeout: 30_000,
  coverageDirectory: '../../coverage/libs/session',
};
