const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('node:path');

module.exports = {
  output: {
    path: join(__dirname, '../../dist/apps/demo-api'),
    clean: true,
  },
  devtool: 'source-map',
  module: {
    rules: [
      {
        // The shared embedded-PostgreSQL starter (plain ESM) resolves the server's package with
        // createRequire at run time, from the working directory; webpack must not resolve it.
        test: /tools[\\/]embedded-postgres[\\/].*\.mjs$/,
        parser: { createRequire: false },
      },
    ],
  },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      tsConfig: './tsconfig.app.json',
      // `npm run typecheck` checks types; the build only transpiles, so `npm start` stays quick.
      skipTypeChecking: true,
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: false,
      sourceMap: true,
    }),
  ],
};
