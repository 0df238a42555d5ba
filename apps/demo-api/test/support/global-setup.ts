/** The demo suite's global setup: the demo page's build (when its sources changed), then the shared PostgreSQL setup. */
import { join } from 'node:path';
import { buildDemoPage } from './demo-page';

// Required, as in global-teardown.ts: tsc cannot check the shared setup from here (its .mjs import has no types).
const postgres = require(join(__dirname, '../../../../tools/testing/postgres.global-setup.ts')) as { default: () => Promise<void> };

export default async function globalSetup(): Promise<void> {
  // Before the tests start apps: `GET /` serves the page from dist/apps/demo-web, as after `npm start`'s build.
  buildDemoPage();
  await postgres.default();
}
