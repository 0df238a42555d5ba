#!/usr/bin/env node
// Builds one library into dist/libs/<lib>/ as an npm package: a CommonJS build (cjs/)
// and an ES module build (esm/), each with its .d.ts and source maps (sources inlined,
// so a map never points at a file the package lacks), plus the lib's package.json and
// README. Usage: node tools/pack/build-lib.mjs <lib folder name under libs/> [--esm-only]
// `--esm-only` (the browser client, @tessera/client): no CommonJS build; the lib's
// package.json declares "type": "module" itself, so esm/ needs no package.json of its own.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const lib = process.argv[2];
const esmOnly = process.argv.includes('--esm-only');
if (!lib || !existsSync(join(root, 'libs', lib, 'package.json'))) {
  console.error(`usage: build-lib.mjs <lib>; libs/${lib}/package.json not found`);
  process.exit(2);
}
const libRoot = join(root, 'libs', lib);
const out = join(root, 'dist', 'libs', lib);
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

rmSync(out, { recursive: true, force: true });

/** Compiles the lib's tsconfig.build.json into dist/libs/<lib>/<folder> as that module format. */
function compile(folder, module) {
  execFileSync(process.execPath, [tsc, '-p', join(libRoot, 'tsconfig.build.json'), '--outDir', join(out, folder), '--module', module], {
    stdio: 'inherit',
  });
}

/** Every file under dir, recursively. */
function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

// Node's ES module loader needs full relative specifiers ('./x.js', './dir/index.js');
// TypeScript keeps them as written ('./x'), so the ESM build gets them spelled out.
const RELATIVE = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\bexport\s*\*\s*from\s*)(['"])(\.\.?(?:\/[^'"]*)?)\2/g;

/** The specifier as Node's ESM loader needs it, checked against the emitted files. */
function fullSpecifier(fromFile, specifier) {
  if (/\.(m?js|json)$/.test(specifier)) return specifier;
  const target = resolve(dirname(fromFile), specifier);
  if (existsSync(`${target}.js`)) return `${specifier}.js`;
  if (existsSync(join(target, 'index.js'))) return `${specifier.replace(/\/$/, '')}/index.js`;
  throw new Error(`${fromFile}: cannot resolve "${specifier}" in the ESM build`);
}

function rewriteEsm(dir) {
  for (const file of walk(dir)) {
    if (!file.endsWith('.js') && !file.endsWith('.d.ts')) continue;
    const text = readFileSync(file, 'utf8');
    const next = text.replace(RELATIVE, (_, lead, quote, spec) => `${lead}${quote}${fullSpecifier(file, spec)}${quote}`);
    if (next !== text) writeFileSync(file, next);
  }
}

const { name: packageName } = JSON.parse(readFileSync(join(libRoot, 'package.json'), 'utf8'));

/**
 * A second entry point (`<package>/testing`) imports only types from the main one. Its
 * .d.ts name them by package (`'@tessera/session'`), not by a path into the main entry's
 * files: one declaration per type for the app's compiler, and each entry's API report
 * lists its own API only. Only `import type` can be redirected; a runtime import of the
 * main entry's files from a second entry fails the build instead.
 */
function typesFromMainEntry(dir, entry) {
  const entryDir = join(dir, entry);
  if (!existsSync(entryDir)) return;
  for (const file of walk(entryDir)) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.js') && /(?:require\(|from\s*)['"]\.\.\//.test(text)) {
      throw new Error(`${file}: a second entry point may import only types from the main entry`);
    }
    if (!file.endsWith('.d.ts')) continue;
    const next = text.replace(/(\b(?:import|export) type \{[^}]*\} from )(['"])\.\.\/lib\/[^'"]*\2/g, `$1$2${packageName}$2`);
    if (/['"]\.\.\//.test(next)) throw new Error(`${file}: a relative import leaves the ${entry} entry`);
    if (next !== text) writeFileSync(file, next);
  }
}

const folders = esmOnly ? ['esm'] : ['cjs', 'esm'];
if (!esmOnly) compile('cjs', 'commonjs');
compile('esm', 'es2022');
for (const folder of folders) typesFromMainEntry(join(out, folder), 'testing');
rewriteEsm(join(out, 'esm'));
if (!esmOnly) {
  writeFileSync(join(out, 'cjs', 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
  writeFileSync(join(out, 'esm', 'package.json'), `${JSON.stringify({ type: 'module' }, null, 2)}\n`);
}

// Nothing that is not part of the package may slip in (a spec compiled by mistake).
const stray = walk(out).filter((file) => /\.(spec|test|fixture)\.|fixtures?\//.test(file));
if (stray.length > 0) throw new Error(`test files in the build: ${stray.join(', ')}`);

copyFileSync(join(libRoot, 'package.json'), join(out, 'package.json'));
for (const name of ['README.md', 'LICENSE']) {
  const from = existsSync(join(libRoot, name)) ? join(libRoot, name) : join(root, name);
  if (existsSync(from) && statSync(from).isFile()) copyFileSync(from, join(out, name));
}
console.log(`built ${lib} into ${out}`);
