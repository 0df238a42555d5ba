// Plain ESM with JSDoc types (checked by `nx run embedded-postgres:typecheck`): the demo's
// bundle, the Jest setup and `npm run bench` (plain Node) all load this same file.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, copyFile, link, lstat, mkdir, readdir, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The account PostgreSQL runs as when this process is root (PostgreSQL refuses to run as root).
 * @typedef {{ uid: number, gid: number }} PostgresAccount
 */

/**
 * Where the PostgreSQL binaries are (`home` holds `bin/` and `lib/` of the server), and
 * which package version they come from.
 * @typedef {{ home: string, version: string }} PostgresBinaries
 */

/**
 * The binaries shipped by `@embedded-postgres/<platform>-<arch>` (installed with
 * `embedded-postgres`). `createRequire` from the working directory: the demo is bundled,
 * so this must be resolved at run time, not by the bundler.
 * @returns {PostgresBinaries}
 */
export function packagedBinaries() {
  const fromProject = createRequire(join(process.cwd(), 'package.json'));
  // The package exports only its entry (dist/index.js); its root is two levels up.
  const root = dirname(dirname(fromProject.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
  const { version } = /** @type {{ version: string }} */ (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')));
  return { home: join(root, 'native'), version };
}

/**
 * The `postgres` account, created (as `useradd --system` does) when missing.
 * @returns {Promise<PostgresAccount>}
 */
export async function postgresAccount() {
  const read = async () => {
    const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await read();
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    } catch (error) {
      throw new Error(
        `PostgreSQL cannot run as root and there is no "postgres" user, which could not be created ` +
          `(${error instanceof Error ? error.message.split('\n')[0] : String(error)}): create one (useradd --system postgres) or set DATABASE_URL.`,
        { cause: error },
      );
    }
    return read();
  }
}

/**
 * Whether `account` can reach `path`: search (x) permission on every directory from the
 * root down to it, for its owner, its group or everyone, as the kernel decides it.
 * @param {string} path
 * @param {PostgresAccount} account
 * @returns {Promise<boolean>}
 */
export async function canTraverse(path, account) {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (info) {
      const bit = info.uid === account.uid ? 0o100 : info.gid === account.gid ? 0o010 : 0o001;
      if ((info.mode & bit) === 0) return false;
    }
    if (dir === dirname(dir)) return true;
  }
}

/**
 * A directory of this machine's temporary space that root owns and nobody else can write
 * to, created when missing and reused across runs. Refuses one that someone else created
 * (in a world-writable /tmp another user could plant binaries there).
 * @param {string} name
 * @returns {Promise<string>}
 */
export async function rootOwnedCache(name) {
  const dir = join(tmpdir(), name);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const info = await lstat(dir);
  if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a directory owned by root and writable only by it: remove it, or set DATABASE_URL.`);
  }
  await chmod(dir, 0o755);
  return dir;
}

/**
 * A short, stable name for a path (which data directory a cache entry belongs to).
 * @param {string} path
 * @returns {string}
 */
export function pathKey(path) {
  return createHash('sha256').update(resolve(path)).digest('hex').slice(0, 16);
}

/**
 * Binaries the `postgres` account can execute: the packaged ones when it can reach them,
 * else a copy (hard links where the file system allows) in a root-owned cache under the
 * temporary directory, keyed by version and made once. A project cloned into a directory
 * only its owner may enter (`/root/...`, `mktemp -d`) needs no change outside it.
 * @param {PostgresBinaries} binaries
 * @param {PostgresAccount} account
 * @returns {Promise<PostgresBinaries>}
 */
export async function reachableBinaries(binaries, account) {
  if (await canTraverse(join(binaries.home, 'bin'), account)) return binaries;
  const cache = await rootOwnedCache('tessera-embedded-postgres');
  const home = join(cache, `${binaries.version}-${process.platform}-${process.arch}`);
  if (existsSync(join(home, '.complete'))) return { ...binaries, home };
  // Copied under a name of its own, then renamed: two processes may do this at once.
  const staging = `${home}.${process.pid}.${Date.now()}`;
  await copyTree(binaries.home, staging);
  await writeFile(join(staging, '.complete'), `${binaries.version}\n`);
  try {
    await rename(staging, home);
  } catch {
    await rm(staging, { recursive: true, force: true }); // another process won the race
  }
  if (!existsSync(join(home, '.complete'))) throw new Error(`Could not prepare the PostgreSQL binaries in ${home}.`);
  return { ...binaries, home };
}

/**
 * @param {string} from
 * @param {string} to
 * @returns {Promise<void>}
 */
async function copyTree(from, to) {
  await mkdir(to, { recursive: true, mode: 0o755 });
  await chmod(to, 0o755);
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) {
      await copyTree(source, target);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    } else {
      await link(source, target).catch(() => copyFile(source, target));
      const mode = (await stat(source)).mode & 0o777;
      // Readable (and, for programs, executable) by the postgres account.
      await chmod(target, mode | 0o444 | (mode & 0o100 ? 0o111 : 0));
    }
  }
}

/**
 * Gives the directory (not its contents) to the account, for PostgreSQL's own files.
 * @param {string} dir
 * @param {PostgresAccount} account
 * @returns {Promise<void>}
 */
export async function giveTo(dir, account) {
  await chown(dir, account.uid, account.gid);
}
