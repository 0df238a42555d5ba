import { execFile } from 'node:child_process';

/**
 * Runs `body` (an async function body that can use `jose` and `input`) in a separate
 * Node process and resolves to what it returns: an independent JOSE implementation to
 * check our tokens and JWKS against. jose 6 is ESM-only and Jest's CommonJS transform
 * cannot import it, so it runs beside Jest instead.
 */
export function withJose<T>(body: string, input: unknown): Promise<T> {
  const script = [
    "import * as jose from 'jose';",
    'const input = JSON.parse(process.argv[1]);',
    `const result = await (async () => { ${body} })();`,
    'process.stdout.write(JSON.stringify(result ?? null));',
  ].join('\n');
  return new Promise((resolve, reject) => {
    // cwd inside the workspace, so the bare specifier resolves to its node_modules.
    const args = ['--input-type=module', '-e', script, JSON.stringify(input)];
    execFile(process.execPath, args, { cwd: __dirname }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as T),
    );
  });
}
