#!/usr/bin/env node
// Packs every built library (dist/libs/<lib>, see build-lib.mjs) into dist/packages/
// as <scope>-<name>-<version>.tgz, the tarballs the example apps install.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACKAGES } from './packages.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

// Both module formats must load and agree before anything is packed.
execFileSync(process.execPath, [join(root, 'tools', 'pack', 'verify-entries.mjs')], { stdio: 'inherit' });
// And loading the core pulls in no HTTP platform, GraphQL, WebSocket or database package.
execFileSync(process.execPath, [join(root, 'tools', 'pack', 'verify-lazy-platforms.mjs')], { stdio: 'inherit' });
// And the browser client stays within its size budget (minified and gzipped).
execFileSync(process.execPath, [join(root, 'tools', 'pack', 'client-size.mjs')], { stdio: 'inherit' });

const destination = join(root, 'dist', 'packages');
mkdirSync(destination, { recursive: true });
for (const file of readdirSync(destination)) if (file.endsWith('.tgz')) rmSync(join(destination, file));

for (const lib of PACKAGES) {
  const built = join(root, 'dist', 'libs', lib);
  if (!existsSync(join(built, 'package.json'))) throw new Error(`${built} is not built: run nx run ${lib}:build`);
  execFileSync('npm', ['pack', built, '--pack-destination', destination, '--silent'], { stdio: 'inherit' });
}
