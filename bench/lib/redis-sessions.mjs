// Ended sessions for the Redis cleanup scenario, written by the library's own store from
// its built package (dist/libs/session-redis, `npx nx run session-redis:build`), so that
// the bench knows nothing of the store's key layout: `RedisSessionStore#create` writes
// them as the app would have, and `deleteExpired` checks what the cleanup job left.
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createClient } from 'redis';

const DAY_MS = 24 * 60 * 60_000;

/**
 * Loads `@tessera/session-redis` from dist/libs/session-redis. Its import of
 * `@tessera/session` resolves through dist/libs/node_modules/@tessera/session, the link
 * tools/pack/packages.mjs makes for the built packages (made here too, in the same way:
 * a cached build comes back without it).
 */
async function loadStorePackage(projectDir) {
  const libs = join(projectDir, 'dist', 'libs');
  for (const lib of ['session', 'session-redis']) {
    if (!existsSync(join(libs, lib, 'package.json'))) {
      throw new Error(`dist/libs/${lib} is not built: run npx nx run session-redis:build (or drop BENCH_SKIP_BUILD)`);
    }
  }
  const core = join(libs, 'session');
  const link = join(libs, 'node_modules', JSON.parse(readFileSync(join(core, 'package.json'), 'utf8')).name);
  mkdirSync(dirname(link), { recursive: true });
  rmSync(link, { force: true });
  symlinkSync(relative(dirname(link), core), link, 'dir');
  const manifest = JSON.parse(readFileSync(join(libs, 'session-redis', 'package.json'), 'utf8'));
  return import(pathToFileURL(join(libs, 'session-redis', manifest.exports['.'].import.default)).href);
}

/**
 * A store of the built package on its own connection, with the demo's settings (the run's
 * key prefix, the library's default buckets, the demo's 7-day retention). `close()` ends
 * the connection.
 */
export async function openPackageStore({ projectDir, url, prefix, retention = '7d' }) {
  const { RedisSessionStore, nodeRedisClient } = await loadStorePackage(projectDir);
  const connection = createClient({ url, socket: { connectTimeout: 5_000 } });
  connection.on('error', () => undefined);
  await connection.connect();
  const store = new RedisSessionStore(nodeRedisClient(connection), { keyPrefix: prefix, retention });
  let closing;
  return {
    store,
    /** Lets the commands in flight finish, then disconnects; later calls wait for the first. */
    close() {
      closing ??= connection.close().catch(() => {
        try {
          connection.destroy();
        } catch {
          // already closed
        }
      });
      return closing;
    },
  };
}

/**
 * Writes `count` sessions long past the 7-day retention with `store.create`, `concurrency`
 * at a time, like tools/testing/old-sessions.sql writes them for PostgreSQL: ids
 * `<tag>-<n>`, created 60 days ago, half expired 30 days ago, half revoked 8 days ago;
 * spread over count / `perUser` users `<tag>-u<k>`. Their `lastSeenAt` is the write time:
 * the store reckons a record's time to live from it (retention after the session ended),
 * so each record goes a second after it is written, and what stays is what stays of a
 * session that ended a week ago in production: its index entries. Resolves to { users }.
 */
export async function writeEndedSessions(store, { tag, count, perUser = 5, concurrency = 256 }) {
  const now = Date.now();
  const at = (offsetDays) => new Date(now + offsetDays * DAY_MS);
  const users = Math.max(1, Math.round(count / perUser));
  let next = 1;
  const worker = async () => {
    while (next <= count) {
      const n = next++;
      const expired = n % 2 === 0;
      await store.create({
        id: `${tag}-${n}`,
        userId: `${tag}-u${n % users}`,
        roles: ['user'],
        claims: {},
        refreshHash: createHash('md5').update(String(n)).digest('hex'),
        previousRefreshHash: null,
        generation: 0,
        rotatedAt: null,
        createdAt: at(-60),
        authenticatedAt: at(-60),
        lastSeenAt: at(0),
        expiresAt: expired ? at(-30) : at(1),
        absoluteExpiresAt: at(2),
        revokedAt: expired ? null : at(-8),
        revokedReason: expired ? null : 'logout',
        userAgent: null,
        ip: null,
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { users };
}
