#!/usr/bin/env node
/**
 * Builds the demo page (apps/demo-api/web) into dist/apps/demo-web, which the demo app
 * serves at `GET /` (`nx run demo-api:build-web`; `demo-api:build` depends on it):
 *
 *   index.html                 the page, referring to the assets by hashed name (with SRI)
 *   assets/app-<hash>.js       the app and @tessera/client, bundled and minified by esbuild
 *   assets/app-<hash>.css      its styles
 *   assets/icon-<hash>.svg     its icon
 *   build-info.json            the hash of the sources and the sizes (not served)
 *
 * Names carry a hash of their content, so the app serves them as immutable. Nothing comes
 * from a CDN. `--if-changed` skips the build when build-info.json names the same sources
 * (the demo's Jest global setup builds this way, once per change). `--out <dir>` writes
 * elsewhere.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const WEB = join(ROOT, 'apps/demo-api/web');
const CLIENT = join(ROOT, 'libs/client/src');
/** Every input of the build: a change to any of them makes a new build. */
const SOURCES = [WEB, CLIENT, fileURLToPath(import.meta.url), join(ROOT, 'package-lock.json'), join(ROOT, 'tsconfig.base.json')];

function parseArgs(argv) {
  const args = { ifChanged: false, out: join(ROOT, 'dist/apps/demo-web') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--if-changed') args.ifChanged = true;
    else if (argv[i] === '--out') args.out = resolve(argv[++i]);
    else throw new Error(`build-demo-web: unknown argument ${argv[i]} (known: --if-changed, --out <dir>)`);
  }
  return args;
}

/** The files under `path` (or `path` itself), sorted, without specs and build output. */
function filesOf(path) {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.') && entry.name !== 'node_modules')
    .flatMap((entry) => filesOf(join(path, entry.name)))
    .filter((file) => !/\.spec\.ts$/.test(file))
    .sort();
}

/** A hash of the build's inputs (paths and contents). */
function sourceHash() {
  const hash = createHash('sha256');
  for (const file of SOURCES.flatMap(filesOf)) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

const contentHash = (content) => createHash('sha256').update(content).digest('hex').slice(0, 12);
const integrity = (content) => `sha384-${createHash('sha384').update(content).digest('base64')}`;

/** Writes a file through a temporary name, so a reader (the app, another build) never sees half of it. */
function writeAtomically(path, content) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

/** Escapes a value for an HTML attribute. */
const attribute = (value) => value.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;');

async function bundle() {
  // Loaded here: `--if-changed` with nothing to do never needs it.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [
      { in: join(WEB, 'src/main.ts'), out: 'app' },
      { in: join(WEB, 'styles.css'), out: 'app' },
    ],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Browsers of the last few years (module scripts, Web Locks, BroadcastChannel); the page says so when one is missing.
    target: ['chrome111', 'firefox111', 'safari16.4', 'edge111'],
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    outdir: 'out',
    tsconfig: join(WEB, 'tsconfig.json'),
    logLevel: 'warning',
    metafile: false,
  });
  const js = result.outputFiles.find((file) => file.path.endsWith('.js'));
  const css = result.outputFiles.find((file) => file.path.endsWith('.css'));
  if (!js || !css) throw new Error('build-demo-web: esbuild produced no app.js or app.css');
  return { js: Buffer.from(js.contents), css: Buffer.from(css.contents) };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const hash = sourceHash();
  const infoPath = join(args.out, 'build-info.json');
  if (args.ifChanged && existsSync(infoPath) && existsSync(join(args.out, 'index.html'))) {
    try {
      if (JSON.parse(readFileSync(infoPath, 'utf8')).sourceHash === hash) {
        process.stdout.write(`demo page up to date in ${relative(ROOT, args.out) || '.'}\n`);
        return;
      }
    } catch {
      // An unreadable build-info.json: build again.
    }
  }

  const { js, css } = await bundle();
  const icon = readFileSync(join(WEB, 'icon.svg'));
  const files = {
    js: { name: `app-${contentHash(js)}.js`, content: js },
    css: { name: `app-${contentHash(css)}.css`, content: css },
    icon: { name: `icon-${contentHash(icon)}.svg`, content: icon },
  };
  const template = readFileSync(join(WEB, 'index.html'), 'utf8');
  const tags = {
    '<!-- build:css -->': `<link rel="stylesheet" href="/assets/${files.css.name}" integrity="${attribute(integrity(css))}">`,
    '<!-- build:icon -->': `<link rel="icon" type="image/svg+xml" href="/assets/${files.icon.name}">`,
    '<!-- build:js -->': `<script type="module" src="/assets/${files.js.name}" integrity="${attribute(integrity(js))}"></script>`,
  };
  let html = template;
  for (const [marker, tag] of Object.entries(tags)) {
    if (!html.includes(marker)) throw new Error(`build-demo-web: apps/demo-api/web/index.html lacks ${marker}`);
    html = html.replace(marker, tag);
  }

  const assets = join(args.out, 'assets');
  mkdirSync(assets, { recursive: true });
  for (const file of Object.values(files)) writeAtomically(join(assets, file.name), file.content);
  // The page last, so that it never refers to an asset not yet written.
  writeAtomically(join(args.out, 'index.html'), html);
  const current = new Set(Object.values(files).map((file) => file.name));
  for (const stale of readdirSync(assets)) if (!current.has(stale)) rmSync(join(assets, stale), { force: true });

  const sizes = Object.fromEntries(
    Object.values(files).map((file) => [file.name, { bytes: file.content.length, gzip: gzipSync(file.content).length }]),
  );
  writeAtomically(infoPath, `${JSON.stringify({ sourceHash: hash, files: sizes }, null, 2)}\n`);
  const summary = Object.entries(sizes)
    .map(([name, size]) => `${name} ${size.bytes} B (${size.gzip} B gzip)`)
    .join(', ');
  process.stdout.write(`demo page built in ${relative(ROOT, args.out) || '.'}: ${summary}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
