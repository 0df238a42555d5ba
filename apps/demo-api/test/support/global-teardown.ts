/** Deletes the run's Redis keys (every test file's prefix starts with the run's), then runs the shared PostgreSQL teardown. */
import { join } from 'node:path';
import { createClient } from 'redis';
import { testRedisUrl, testSessionStore } from './test-store';

// Loaded while Jest transforms this module (it cannot type-check apart from the setup that declares its state).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const postgres = require(join(__dirname, '../../../../tools/testing/postgres.global-teardown.ts')) as { default: () => Promise<void> };

async function deleteRunKeys(run: string): Promise<void> {
  const client = createClient({ url: testRedisUrl(), socket: { connectTimeout: 5_000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // The session store's keys start with their hash tag, `{<prefix>:<bucket>}`; the demo's own with the prefix.
    for (const pattern of [`${run}-*`, `{${run}-*`]) {
      for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 1_000 })) {
        if (keys.length > 0) await client.unlink(keys);
      }
    }
  } finally {
    await client.close();
  }
}

export default async function globalTeardown(): Promise<void> {
  try {
    const run = process.env.TESSERA_TEST_REDIS_RUN;
    if (testSessionStore() === 'redis' && run) await deleteRunKeys(run);
  } finally {
    await postgres.default();
  }
}
