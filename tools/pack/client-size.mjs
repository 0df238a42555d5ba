#!/usr/bin/env node
// Measures what @tessera/client adds to a page: its built ES module entry
// (dist/libs/client/esm/index.js) bundled into one ES module by webpack in production mode
// (terser minification, tree shaking), then gzipped (node:zlib, level 9). Fails when the
// gzipped bundle exceeds the budget. Run by `npm run pack`; `--json` prints only the numbers.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import webpack from 'webpack';

/** The most the minified and gzipped bundle may weigh. */
const BUDGET_GZIP_BYTES = 6 * 1024;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const entry = join(root, 'dist', 'libs', 'client', 'esm', 'index.js');
if (!existsSync(entry)) {
  console.error('dist/libs/client is not built: run nx run client:build');
  process.exit(2);
}

const out = mkdtempSync(join(tmpdir(), 'tessera-client-size-'));
try {
  const stats = await new Promise((done, fail) =>
    webpack(
      {
        mode: 'production',
        target: ['web', 'es2022'],
        entry,
        devtool: false,
        experiments: { outputModule: true },
        output: { path: out, filename: 'client.js', library: { type: 'module' }, module: true },
      },
      (error, result) => (error ? fail(error) : done(result)),
    ),
  );
  if (stats.hasErrors()) throw new Error(stats.toString({ all: false, errors: true }));
  const minified = readFileSync(join(out, 'client.js'));
  const gzipped = gzipSync(minified, { level: 9 }).length;
  const result = { minifiedBytes: minified.length, gzipBytes: gzipped, budgetGzipBytes: BUDGET_GZIP_BYTES };
  if (process.argv.includes('--json')) console.log(JSON.stringify(result));
  else console.log(`@tessera/client: ${minified.length} bytes minified, ${gzipped} bytes gzipped (budget ${BUDGET_GZIP_BYTES})`);
  if (gzipped > BUDGET_GZIP_BYTES) {
    console.error(`@tessera/client is over its size budget: ${gzipped} > ${BUDGET_GZIP_BYTES} bytes gzipped`);
    process.exitCode = 1;
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
