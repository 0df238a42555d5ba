// Plain ESM with JSDoc types (declared in index.d.ts and types.d.ts, checked by `nx run
// embedded-postgres:typecheck`): the demo's bundle, the Jest setup and `npm run bench`
// (plain Node, no build) all load this same file.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { canTraverse, giveTo, packagedBinaries, pathKey, postgresAccount, reachableBinaries, rootOwnedCache } from './postgres-binaries.mjs';

/** @typedef {import('./types').EmbeddedPostgres} EmbeddedPostgres */
/** @typedef {import('./types').EmbeddedPostgresOptions} EmbeddedPostgresOptions */
/** @typedef {import('./postgres-binaries.mjs').PostgresAccount} PostgresAccount */
/** @typedef {import('./postgres-binaries.mjs').PostgresBinaries} PostgresBinaries */
/** @typedef {import('node:child_process').ChildProcess} ChildProcess */

const READY = 'database system is ready to accept connections';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;
// Server messages in English whatever the machine's locale (READY is matched), and no
// dependence on locales the machine may lack.
const CHILD_ENV = { ...process.env, LC_ALL: 'C', LANG: 'C', LC_MESSAGES: 'C' };

/** @returns {Promise<number>} */
function freePort() {
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
 * As root, PostgreSQL runs as the `postgres` user, which must reach its binaries and
 * its data. When the project (or `dataDir`) sits under a directory only its owner may
 * enter, both move to root-owned directories of the machine's temporary space (reused
 * across runs), instead of changing permissions outside the project.
 * @param {EmbeddedPostgresOptions} options
 * @returns {Promise<{ binaries: PostgresBinaries, account: PostgresAccount | undefined, dataDir: string }>}
 */
async function layout(options) {
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

/**
 * Runs a PostgreSQL program to completion; rejects with its output when it fails.
 * @param {string} program
 * @param {string[]} args
 * @param {PostgresAccount | undefined} account
 * @returns {Promise<void>}
 */
function runProgram(program, args, account) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'], ...account });
    let output = '';
    child.stdout.on('data', (/** @type {Buffer} */ chunk) => (output += chunk.toString()));
    child.stderr.on('data', (/** @type {Buffer} */ chunk) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${program} failed (exit ${code}): ${output.trim()}`))));
  });
}

/**
 * Creates the cluster in `clusterDir` with the `postgres` superuser and `password`.
 * @param {string} home
 * @param {string} clusterDir
 * @param {string} password
 * @param {PostgresAccount | undefined} account
 * @returns {Promise<void>}
 */
async function initialise(home, clusterDir, password, account) {
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

/**
 * Starts `postgres` and resolves once it accepts connections.
 * @param {string} home
 * @param {string} clusterDir
 * @param {number} port
 * @param {Readonly<Record<string, string | number>>} settings
 * @param {PostgresAccount | undefined} account
 * @param {(text: string) => void} onLog
 * @returns {Promise<ChildProcess>}
 */
function startServer(home, clusterDir, port, settings, account, onLog) {
  const flags = ['-D', clusterDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='];
  for (const [name, value] of Object.entries(settings)) flags.push('-c', `${name}=${value}`);
  const child = spawn(join(home, 'bin', 'postgres'), flags, { env: CHILD_ENV, stdio: ['ignore', 'pipe', 'pipe'], ...account });
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => fail(new Error(`PostgreSQL did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    /** @param {Error} error */
    const fail = (error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}. Its log: ${log.trim().split('\n').slice(-5).join(' | ')}`));
    };
    /** @param {Buffer} chunk */
    const read = (chunk) => {
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

/**
 * Fast shutdown (SIGINT closes open connections); SIGKILL if it is still there after a while.
 * @param {ChildProcess} child
 * @returns {Promise<void>}
 */
function stopServer(child) {
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
 * @param {EmbeddedPostgresOptions} options
 * @returns {Promise<EmbeddedPostgres>}
 */
export async function startEmbeddedPostgres(options) {
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
  const child = await startServer(binaries.home, clusterDir, port, options.settings ?? {}, account, onLog);

  const serverUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  try {
    const client = new pg.Client({ connectionString: serverUrl });
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
