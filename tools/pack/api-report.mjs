#!/usr/bin/env node
// Compares each package entry's public API (its built .d.ts, read by api-extractor) with
// the report checked in under libs/<lib>/api/. `check` (CI) fails on any difference;
// `update` rewrites the reports. Build first: npm run api:check / api:update do.
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linkBuiltPackages } from './packages.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mode = process.argv[2];
if (mode !== 'check' && mode !== 'update') {
  console.error('usage: api-report.mjs check|update');
  process.exit(2);
}
/** One api-extractor config per package entry point. */
const CONFIGS = [
  'libs/session/api-extractor.json',
  'libs/session/api-extractor.testing.json',
  'libs/session-typeorm/api-extractor.json',
  'libs/session-redis/api-extractor.json',
  'libs/client/api-extractor.json',
];

linkBuiltPackages();
let failed = false;
for (const file of CONFIGS) {
  const config = ExtractorConfig.loadFileAndPrepare(join(root, file));
  // A new package has no api/ folder yet, and api-extractor writes no report without it.
  if (mode === 'update') mkdirSync(dirname(config.reportFilePath), { recursive: true });
  const result = Extractor.invoke(config, { localBuild: mode === 'update', showVerboseMessages: false });
  const report = config.reportFilePath.slice(root.length + 1);
  if (!result.succeeded) {
    failed = true;
    const why = !existsSync(config.reportFilePath)
      ? 'no report is checked in for this entry yet'
      : result.apiReportChanged
        ? 'the public API differs from the checked-in report'
        : 'errors or warnings above';
    console.error(`${report}: FAILED (${why}; ${result.errorCount} errors, ${result.warningCount} warnings)`);
  } else {
    console.log(`${report}: ${result.apiReportChanged ? 'updated' : 'unchanged'}`);
  }
}
if (failed && mode === 'check') console.error('If the API change is intended, run `npm run api:update` and commit the reports.');
process.exit(failed ? 1 : 0);
