import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startDemoApp } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const run = promisify(execFile);
const README = join(__dirname, '../../../README.md');

/** The README's shell blocks that talk to the running demo (`curl ... localhost:3000`). */
function curlBlocks(): string[] {
  const text = readFileSync(README, 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]).filter((block) => block.includes('curl '));
}

// Issue 12, finding 11: the README's first example registered without a CSRF token or
// `X-Auth-Mode: bearer` and got 403; a new user copying it in order got nowhere.
describe('finding 11: the README’s curl examples work when pasted in order', () => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp();
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('registers, logs in and reads /api/me, with no 4xx on the way', async () => {
    const blocks = curlBlocks();
    expect(blocks.length).toBeGreaterThan(0);
    const host = new URL(demo.url).host;
    // The same commands, pointed at this test's app instead of the default port.
    const script = blocks.join('\n').replaceAll('localhost:3000', host);
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', script], { timeout: 60_000 });
    expect(stdout).not.toMatch(/"statusCode":\s*[45]\d\d/);
    expect(stdout).toMatch(/"email":"ada@example\.com","roles":\["user"\],"sessionId":"[A-Za-z0-9_-]{22}"/);
  });
});
