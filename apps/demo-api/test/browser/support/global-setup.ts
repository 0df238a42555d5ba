/**
 * Global setup of the Chromium suite: builds the demo page when its sources changed
 * (`tools/web/build-demo-web.mjs --if-changed`, what `demo-api:build-web` runs), since
 * the app serves it from dist/apps/demo-web, then the shared PostgreSQL setup (a fresh
 * database for the run).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '../../../../..');

// Loaded while Jest transforms this module, as the demo's own teardown loads its PostgreSQL half.
const postgres = require(join(ROOT, 'tools/testing/postgres.global-setup.ts')) as { default: () => Promise<void> };

export default async function globalSetup(): Promise<void> {
  execFileSync(process.execPath, [join(ROOT, 'tools/web/build-demo-web.mjs'), '--if-changed'], { cwd: ROOT, stdio: 'inherit' });
  await postgres.default();
}
