import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  // The store's own code (this config's folder is its root). `redis` is an optional peer: an
  // app may pass any client through its own SessionRedisClient, so loading this package must
  // not load node-redis. Types are free; the `url` convenience import()s it when used.
  {
    files: ['src/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'redis', allowTypeImports: true, message: '`redis` is an optional peer: import types, or import() it where needed.' },
            {
              name: '@nestjs/terminus',
              allowTypeImports: true,
              message: '`@nestjs/terminus` is an optional peer (the health indicator): import types, or import() it where needed.',
            },
          ],
          patterns: [
            {
              group: ['@redis/*'],
              allowTypeImports: true,
              message: '`redis` is an optional peer and its @redis/* packages are not dependencies: import types from `redis`, or import() it.',
            },
          ],
        },
      ],
    },
  },
];
