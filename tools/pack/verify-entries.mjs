#!/usr/bin/env node
// Loads every entry point of the built packages (dist/libs/<lib>, found through the
// dist/libs/node_modules links made by linkBuiltPackages) twice: with require() (the CommonJS
// build) and with import() (the ES module build), and fails unless both load and export
// the same names. Run by `npm run pack` before it packs.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { linkBuiltPackages, PACKAGES } from './packages.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const libs = join(root, 'dist', 'libs');
linkBuiltPackages();
const requireFromDist = createRequire(join(libs, 'verify.cjs'));

let failed = false;
for (const lib of PACKAGES) {
  const manifest = JSON.parse(readFileSync(join(libs, lib, 'package.json'), 'utf8'));
  for (const [subpath, conditions] of Object.entries(manifest.exports)) {
    if (typeof conditions === 'string') continue; // ./package.json
    const specifier = `${manifest.name}${subpath.slice(1)}`;
    const cjs = Object.keys(requireFromDist(specifier)).filter((name) => name !== '__esModule').sort();
    const esmFile = join(libs, lib, conditions.import.default);
    const esm = Object.keys(await import(pathToFileURL(esmFile).href)).filter((name) => name !== 'default').sort();
    const same = JSON.stringify(cjs) === JSON.stringify(esm);
    failed ||= !same || cjs.length === 0;
    console.log(`${specifier}: require ${cjs.length} names, import ${esm.length} names${same ? '' : ' -- DIFFERENT'}`);
  }
}
process.exit(failed ? 1 : 0);
