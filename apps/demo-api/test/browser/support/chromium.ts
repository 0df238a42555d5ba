import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

/** Where the suite looks for Chromium, after TESSERA_CHROMIUM: Debian's real binary first, then its wrapper script. */
const CANDIDATES = ['/usr/lib/chromium/chromium', '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** How to get Chromium, for the messages below. */
export const CHROMIUM_HINT =
  "install Debian's Chromium (`apt-get install -y chromium`, as root), or set TESSERA_CHROMIUM to a Chromium binary; " +
  'the suite never downloads a browser of its own';

/** The Chromium binary the suite drives: TESSERA_CHROMIUM when set (it must exist), else the first of CANDIDATES found. */
export function chromiumPath(): string | undefined {
  const chosen = process.env.TESSERA_CHROMIUM?.trim();
  if (chosen) return existsSync(chosen) ? chosen : undefined;
  return CANDIDATES.find((candidate) => existsSync(candidate));
}

/** True when a missing Chromium must fail the run (TESSERA_BROWSER_REQUIRED=1, as `.ci/run` sets it). */
export function browserRequired(): boolean {
  return process.env.TESSERA_BROWSER_REQUIRED === '1';
}

/**
 * `describe` for a browser suite. Without Chromium it fails with how to install it when
 * TESSERA_BROWSER_REQUIRED=1, and otherwise skips with a loud warning, so that `npm test`
 * still passes on a laptop without Chromium while CI can never skip it silently.
 */
export function describeInChromium(title: string, suite: () => void): void {
  if (chromiumPath() !== undefined) {
    describe(title, suite);
    return;
  }
  const missing = process.env.TESSERA_CHROMIUM?.trim()
    ? `TESSERA_CHROMIUM=${process.env.TESSERA_CHROMIUM} does not exist`
    : `no Chromium found (looked at ${CANDIDATES.join(', ')})`;
  if (browserRequired()) {
    describe(title, () => {
      test('needs Chromium', () => {
        throw new Error(`Browser tests required (TESSERA_BROWSER_REQUIRED=1) but ${missing}: ${CHROMIUM_HINT}.`);
      });
    });
    return;
  }
  console.warn(
    `\n!!!!!!!! BROWSER TESTS SKIPPED: ${missing}.\n!!!!!!!! "${title}" did not run: ${CHROMIUM_HINT}.\n` +
      '!!!!!!!! Set TESSERA_BROWSER_REQUIRED=1 to make this a failure.\n',
  );
  describe.skip(title, suite);
}

/**
 * The flags every launch passes: no sandbox (CI runs as root, where Chromium's sandbox
 * cannot start), no GPU, and nothing that talks to the network on its own (updates,
 * sync, field trials), so that the only traffic is the test's.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches headless Chromium. Playwright gives each launch a fresh temporary
 * `--user-data-dir` and each `newContext()` its own cookie jar and storage, which is
 * how the tests simulate separate devices.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (executablePath === undefined) throw new Error(`No Chromium: ${CHROMIUM_HINT}.`);
  return chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

/** Where screenshots go (git-ignored under dist/); created on first use. */
export function artifactsDir(): string {
  const dir = join(__dirname, '../../../../../dist/test-artifacts/browser');
  mkdirSync(dir, { recursive: true });
  return dir;
}
