#!/usr/bin/env node
// Loads every entry point of the built packages (dist/libs/<lib>, found through the
// dist/libs/node_modules links made by linkBuiltPackages) twice: with require() (the CommonJS
// build) and with import() (the ES module build), and fails unless both load and export
// the same names, and those are exactly the values their .d.ts declare (an entry that
// exports only types exports no names, and that is right). An ES-module-only package (the
// browser client: `exports` with `types` and `default`, no `require`) is loaded with import()
// only. Run by `npm run pack` before it packs.
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { linkBuiltPackages, PACKAGES } from './packages.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const libs = join(root, 'dist', 'libs');
linkBuiltPackages();
const requireFromDist = createRequire(join(libs, 'verify.cjs'));

const entries = PACKAGES.flatMap((lib) => {
  const manifest = JSON.parse(readFileSync(join(libs, lib, 'package.json'), 'utf8'));
  return Object.entries(manifest.exports)
    .filter(([, conditions]) => typeof conditions !== 'string') // ./package.json
    .map(([subpath, conditions]) =>
      conditions.require
        ? {
            specifier: `${manifest.name}${subpath.slice(1)}`,
            esmFile: join(libs, lib, conditions.import.default),
            types: { require: join(libs, lib, conditions.require.types), import: join(libs, lib, conditions.import.types) },
          }
        : {
            specifier: `${manifest.name}${subpath.slice(1)}`,
            esmFile: join(libs, lib, conditions.default),
            types: { import: join(libs, lib, conditions.types) },
          },
    );
});

// One program over every entry's .d.ts: the names each declares as values (classes,
// functions, constants, enums), following re-exports and leaving out `export type`.
const program = ts.createProgram(
  entries.flatMap((entry) => Object.values(entry.types)),
  { noEmit: true, skipLibCheck: true, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022 },
);
const checker = program.getTypeChecker();
function declaredValues(file) {
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file}: not found`);
  const module = checker.getSymbolAtLocation(source);
  if (!module) return []; // No export at all.
  return checker
    .getExportsOfModule(module)
    .filter((symbol) => {
      for (let at = symbol; at.flags & ts.SymbolFlags.Alias; at = checker.getImmediateAliasedSymbol(at)) {
        if (at.declarations?.some((declaration) => ts.isTypeOnlyImportOrExportDeclaration(declaration))) return false;
        if (!checker.getImmediateAliasedSymbol(at)) return false;
      }
      const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
      return (target.flags & ts.SymbolFlags.Value) !== 0;
    })
    .map((symbol) => symbol.getName())
    .sort();
}

let failed = false;
for (const { specifier, esmFile, types } of entries) {
  const esm = Object.keys(await import(pathToFileURL(esmFile).href)).filter((name) => name !== 'default').sort();
  const cjs = types.require ? Object.keys(requireFromDist(specifier)).filter((name) => name !== '__esModule').sort() : undefined;
  const problems = [];
  if (cjs && JSON.stringify(cjs) !== JSON.stringify(esm)) problems.push('require and import export different names');
  for (const [format, runtime] of cjs ? [['require', cjs], ['import', esm]] : [['import', esm]]) {
    const declared = declaredValues(types[format]);
    const missing = declared.filter((name) => !runtime.includes(name));
    const undeclared = runtime.filter((name) => !declared.includes(name));
    if (missing.length > 0) problems.push(`${format}: declared in its .d.ts but not exported: ${missing.join(', ')}`);
    if (undeclared.length > 0) problems.push(`${format}: exported but not in its .d.ts: ${undeclared.join(', ')}`);
  }
  failed ||= problems.length > 0;
  const what = esm.length === 0 && problems.length === 0 ? ' (types only)' : '';
  const formats = cjs ? `require ${cjs.length} names, import ${esm.length} names` : `import ${esm.length} names (ES module only)`;
  console.log(`${specifier}: ${formats}${what}${problems.map((problem) => `\n  -- ${problem}`).join('')}`);
}
process.exit(failed ? 1 : 0);
