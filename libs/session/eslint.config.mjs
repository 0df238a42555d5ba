import baseConfig, { platformPackages } from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  // The core's own code (this config's folder is its root).
  {
    files: ['src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: platformPackages.map((name) => ({
            name,
            allowTypeImports: true,
            message: 'The core loads platform code only when used: import types, or import() it where needed.',
          })),
        },
      ],
    },
  },
];
