import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The libraries published as npm packages (folders under libs/), in dependency order. */
export const PACKAGES = ['session', 'session-typeorm', 'session-redis', 'client'];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Links dist/libs/node_modules/<package name> to each built package, so that a built
 * package importing another (the stores import @tessera/session), the entry check
 * and api-extractor resolve it as an installed package. Made by the tools that read the
 * builds rather than by the build itself: a cached build (Nx restores only the declared
 * output, dist/libs/<lib>) would otherwise come back without its link.
 */
export function linkBuiltPackages() {
  for (const lib of PACKAGES) {
    const out = join(root, 'dist', 'libs', lib);
    const manifest = join(out, 'package.json');
    if (!existsSync(manifest)) throw new Error(`dist/libs/${lib} is not built: run nx run ${lib}:build`);
    const link = join(root, 'dist', 'libs', 'node_modules', JSON.parse(readFileSync(manifest, 'utf8')).name);
    mkdirSync(dirname(link), { recursive: true });
    rmSync(link, { force: true });
    symlinkSync(relative(dirname(link), out), link, 'dir');
  }
}
