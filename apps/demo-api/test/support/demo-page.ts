import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/** The repository's root. */
const ROOT = join(__dirname, '../../../..');

/** Where the demo's tests serve the page from: the folder `nx run demo-api:build-web` writes (DEFAULT_WEB_ROOT from the root). */
export const TEST_WEB_ROOT = join(ROOT, 'dist/apps/demo-web');

/**
 * Builds the demo page into `out` (default TEST_WEB_ROOT) unless the build there was made
 * from the same sources (the build script compares a hash of them): about a second when
 * something changed, a few milliseconds otherwise. The demo's Jest global setup calls it,
 * so every test that starts the app finds the page, as `npm start` does.
 */
export function buildDemoPage(out: string = TEST_WEB_ROOT): void {
  const args = [join(ROOT, 'tools/web/build-demo-web.mjs'), '--out', out];
  if (out === TEST_WEB_ROOT) args.push('--if-changed');
  execFileSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
}
