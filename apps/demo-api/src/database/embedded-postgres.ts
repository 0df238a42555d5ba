import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  canTraverse,
  giveTo,
  packagedBinaries,
  pathKey,
  postgresAccount,
  reachableBinaries,
  rootOwnedCache,
} from './postgres-binaries';
import type { PostgresAccount, PostgresBinaries } from './postgres-binaries';

/** A PostgreSQL server started by this process. */
export interface EmbeddedPostgres {
  /** URL of the server's `postgres` database (add your own database name). */
  readonly serverUrl: string;
  /** URL of `database` on that server. */
  readonly url: string;
  /** Where the cluster and its password file live (`dataDir`, or a cache directory as root when `dataDir` is out of the `postgres` user's reach). */
  readonly dataDir: string;
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

const READY = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
// Server messages in English whatever the machine's locale (READY is matched), and no
// dependence on locales the machine may lack.
const CHILD_ENV = { ...process.env, LC_ALL: 'C', LANG: 'C', LC_MESSAGES: 'C' };

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

/** How the server runs: which binaries, as whom, and where its files go. */
interface Layout {
  binaries: PostgresBinaries;
  account: PostgresAccount | undefined;
  dataDir: string;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must reach its binaries and
 * its data. When the project (or `dataDir`) sits under a directory only its owner may
 * enter, both move to root-owned directories of the machine's temporary space (reused
 * across runs), instead of changing permissions outside the project.
 */
async function layout(options: EmbeddedPostgresOptions): Promise<Layout> {
  const packaged = packagedBinaries();
  if (process.getuid?.() !== 0) return { binaries: packaged, account: undefined, dataDir: options.dataDir };
  const account = await postgresAccount();
  const binaries = await reachableBinaries(packaged, account);
  await mkdir(options.dataDir, { recursive: true });
  await chmod(options.dataDir, 0o755); // the server's own directory (its password file stays 0600)
  if (await canTraverse(options.dataDir, account)) return { binaries, account, dataDir: options.dataDir };
  const dataDir = join(await rootOwnedCache('tessera-embedded-postgres-data'), pathKey(options.dataDir));
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  return { binaries, account, dataDir };
}

/** Runs a PostgreSQL program to completion; rejects with its output when it fails. */
function runProgram(program: string, args: string[], account: PostgresAccount | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'], ...account });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${program} failed (exit ${code}): ${output.trim()}`))));
  });
}

/** Creates the cluster in `clusterDir` with the `postgres` superuser and `password`. */
async function initialise(home: string, clusterDir: string, password: string, account: PostgresAccount | undefined): Promise<void> {
  await rm(clusterDir, { recursive: true, force: true }); // a half-made cluster from an interrupted start
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  if (account) await giveTo(clusterDir, account);
  // initdb reads the password from a file; it lives only as long as initdb runs.
  const secretDir = await mkdtemp(join(tmpdir(), 'tessera-pg-init-'));
  const passwordFile = join(secretDir, 'password');
  try {
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (account) {
      await chown(secretDir, account.uid, account.gid);
      await chown(passwordFile, account.uid, account.gid);
    }
    await runProgram(
      join(home, 'bin', 'initdb'),
      [`--pgdata=${clusterDir}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${passwordFile}`, '--encoding=UTF8', '--no-locale'],
      account,
    );
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

/** Starts `postgres` and resolves once it accepts connections. */
function startServer(home: string, clusterDir: string, port: number, account: PostgresAccount | undefined, onLog: (line: string) => void): Promise<ChildProcess> {
  const flags = ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  const child = spawn(join(home, 'bin', 'postgres'), flags, { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'], ...account });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`PostgreSQL did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}. Its log: ${log.trim().split('\n').slice(-5).join(' | ')}`));
    };
    const read = (chunk: Buffer) => {
      const text = chunk.toString();
      onLog(text);
      log = (log + text).slice(-4_000);
      if (log.includes(READY)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('error', (error) => fail(error));
    child.once('exit', (code, signal) => fail(new Error(`PostgreSQL exited while starting (code ${code}, signal ${signal})`)));
  });
}

/** Fast shutdown (SIGINT closes open connections); SIGKILL if it is still there after a while. */
function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT');
  });
}

/**
 * Starts (and on first use initialises) a PostgreSQL cluster in `dataDir`, listening
 * on 127.0.0.1 only, with a random password kept in `dataDir/password` (mode 0600).
 * The server binaries come from the `@embedded-postgres/*` package; as root it runs as
 * the `postgres` user (created when missing).
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const onLog = options.onLog ?? (() => undefined);
  const { binaries, account, dataDir } = await layout(options);
  await mkdir(dataDir, { recursive: true });
  const clusterDir = join(dataDir, 'pg');
  const passwordFile = join(dataDir, 'password');
  const initialised = existsSync(join(clusterDir, 'PG_VERSION')) && existsSync(passwordFile);
  const password = initialised ? (await readFile(passwordFile, 'utf8')).trim() : randomBytes(24).toString('base64url');
  if (!initialised) {
    await initialise(binaries.home, clusterDir, password, account);
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  const port = options.port ?? (await freePort());
  const child = await startServer(binaries.home, clusterDir, port, account, onLog);

  const serverUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  try {
    const client = new Client({ connectionString: serverUrl });
    await client.connect();
    try {
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
      if (exists.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(options.database)}`);
    } finally {
      await client.end();
    }
  } catch (error) {
    await stopServer(child);
    throw error;
  }
  return {
    serverUrl,
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(options.database)}`,
    dataDir,
    stop: () => stopServer(child),
  };
}
