import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { extname, join, resolve } from 'node:path';

/**
 * The page's Content-Security-Policy: nothing but its own scripts, styles, images (and
 * `data:` images), fonts and manifest, requests only to this origin (the API and `/ws`),
 * no inline script or style, no plugin, no framing, no `<base>` (OWASP CSP Cheat Sheet,
 * "strict policy"). It replaces helmet's (`useSecurityHeaders()`) on the page and its
 * assets only; the API's responses keep helmet's. No `upgrade-insecure-requests`: the
 * page is served over plain http on localhost in development, which Safari would upgrade.
 */
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Where the hashed assets are served (the page refers to them as `/assets/<name>`). */
export const ASSETS_PATH = 'assets';

/** Content types of the files the page may have; other files in the assets folder are never served. */
const CONTENT_TYPES: Record<string, string> = {
  // RFC 9239: text/javascript is the one JavaScript type.
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** A name the build writes (`app-<hash>.js`): lowercase, no separator, no dot first, a known extension. */
const ASSET_NAME = /^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9]+)*$/;

/** One built asset, in memory. */
export interface PageAsset {
  readonly body: string;
  readonly contentType: string;
}

/** The built page: its HTML and its assets by file name. */
export interface BuiltPage {
  readonly html: string;
  readonly assets: ReadonlyMap<string, PageAsset>;
}

/**
 * The page's files from WEB_ROOT, read into memory (a few kB) and read again when
 * `index.html` changes (a rebuild while the app runs). Assets are looked up by exact
 * name in the set the build wrote, never by joining a request's path to a folder, so no
 * `..`, encoded or not, can reach another file (OWASP Path Traversal), and there is no
 * directory listing. Missing files are not an error: the API never depends on the page.
 */
export class PageFiles {
  private readonly root: string;
  private loaded: { page: BuiltPage; stamp: string } | undefined;

  constructor(webRoot: string) {
    this.root = resolve(process.cwd(), webRoot);
  }

  /** The folder the page is read from (for the hint when it is missing). */
  get directory(): string {
    return this.root;
  }

  /** The built page, or undefined when it has not been built (no `index.html`). */
  page(): BuiltPage | undefined {
    const stamp = this.stamp();
    if (stamp === undefined) {
      this.loaded = undefined;
      return undefined;
    }
    if (this.loaded?.stamp !== stamp) this.loaded = { page: this.read(), stamp };
    return this.loaded.page;
  }

  /** One asset by its file name, or undefined. */
  asset(name: string): PageAsset | undefined {
    if (!ASSET_NAME.test(name)) return undefined;
    // A name is a hash of its content: one already read needs no look at the disk; an unknown
    // one may come from a build made since (the page that names it was read again).
    return this.loaded?.page.assets.get(name) ?? this.page()?.assets.get(name);
  }

  /** What identifies one build of index.html (its size and modification time), or undefined when it is missing. */
  private stamp(): string | undefined {
    try {
      const stats = statSync(join(this.root, 'index.html'));
      return stats.isFile() ? `${stats.size}:${stats.mtimeMs}` : undefined;
    } catch {
      return undefined;
    }
  }

  private read(): BuiltPage {
    const html = readFileSync(join(this.root, 'index.html'), 'utf8');
    const assets = new Map<string, PageAsset>();
    const folder = join(this.root, ASSETS_PATH);
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      // A page without assets still serves its HTML (and each asset request gets 404).
    }
    for (const entry of entries) {
      // isFile() is false for symbolic links: nothing outside the folder is read through one.
      const contentType = CONTENT_TYPES[extname(entry.name)];
      if (!entry.isFile() || !contentType || !ASSET_NAME.test(entry.name)) continue;
      assets.set(entry.name, { body: readFileSync(join(folder, entry.name), 'utf8'), contentType });
    }
    return { html, assets };
  }
}
