import baseConfig from '../../eslint.config.mjs';

const base = baseConfig.find((config) => config.rules?.['@nx/enforce-module-boundaries']);
const [level, boundaries] = base.rules['@nx/enforce-module-boundaries'];

export default [
  ...baseConfig,
  // The store's own code: `@nestjs/terminus` is an optional peer, needed only by the health
  // indicator, which import()s it on its first check; loading this package must not load it.
  {
    files: ['src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@nestjs/terminus',
              allowTypeImports: true,
              message: '`@nestjs/terminus` is an optional peer (the health indicator): import types, or import() it where needed.',
            },
          ],
        },
      ],
    },
  },
  {
    // The quick start is written as an app would write it (it is the README's code), so it
    // imports this library by its package name; every other boundary rule still applies.
    files: ['test/quickstart/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [level, { ...boundaries, allow: ['@tessera/session-typeorm'] }],
    },
  },
];
