/** The demo suite's global setup: the demo page's build (when its sources changed), then the shared PostgreSQL setup. */
import { join } from 'node:path';
import { buildDemoPage } from './demo-page';

// Loaded while Jest transforms this module, as in global-teardown.ts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const postgres = require(join(__dirname, '../../../../tools/testing/postgres.global-setup.ts')) as { default: () => Promise<void> };

export default async function globalSetup(): Promise<void> {
  // Before the tests start apps: `GET /` serves the page from dist/apps/demo-web, as after `npm start`'s build.
  buildDemoPage();
  await postgres.default();
}
