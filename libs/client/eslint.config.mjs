import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  // A browser package with no dependencies: its code imports nothing but its own files.
  {
    files: ['src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^[^.]', message: '@tessera/client has no dependencies: import only its own files.' }] }],
      'no-console': 'error',
    },
  },
];
