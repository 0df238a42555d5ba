import baseConfig from '../../eslint.config.mjs';

const base = baseConfig.find((config) => config.rules?.['@nx/enforce-module-boundaries']);
const [level, boundaries] = base.rules['@nx/enforce-module-boundaries'];

export default [
  ...baseConfig,
  {
    // The quick start is written as an app would write it (it is the README's code), so it
    // imports this library by its package name; every other boundary rule still applies.
    files: ['test/quickstart/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [level, { ...boundaries, allow: ['@tessera/session-typeorm'] }],
    },
  },
];
