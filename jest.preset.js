// Shared Jest settings for every project. NestJS 12 ships ESM only, so @swc/jest
// transforms it (and our TypeScript, with legacy decorators and their metadata).
const path = require('node:path');

const swcOptions = {
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

const root = __dirname;

module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': ['@swc/jest', swcOptions] },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs)/)'],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  moduleNameMapper: {
    '^@tessera/session$': path.join(root, 'libs/session/src/index.ts'),
    '^@tessera/session/testing$': path.join(root, 'libs/session/src/testing/index.ts'),
    '^@tessera/session-typeorm$': path.join(root, 'libs/session-typeorm/src/index.ts'),
    '^@tessera/session-redis$': path.join(root, 'libs/session-redis/src/index.ts'),
    '^@tessera/client$': path.join(root, 'libs/client/src/index.ts'),
    '^@tessera/testing-support$': path.join(root, 'tools/testing/index.ts'),
    '^@tessera/embedded-postgres$': path.join(root, 'tools/embedded-postgres/src/index.mjs'),
  },
};
