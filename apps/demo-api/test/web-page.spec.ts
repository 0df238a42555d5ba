import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { Response } from 'supertest';
import { REAL_BACKENDS, startDemoApp } from './support/demo-app';
import type { DemoApp } from './support/demo-app';
import { buildDemoPage } from './support/demo-page';

/** The page's policy, written out here so that a weaker constant in the app fails this test. */
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const IMMUTABLE = 'public, max-age=31536000, immutable';

/** An asset an HTML page refers to, with its `integrity` when it has one. */
interface Reference {
  url: string;
  integrity?: string;
}

/** The assets an HTML page refers to (`src` and `href` of its scripts and links), in order. */
function referencesOf(html: string): Reference[] {
  const references: Reference[] = [];
  for (const [, attributes] of html.matchAll(/<(?:script|link)\b([^>]*)>/gi)) {
    const url = /\s(?:src|href)="([^"]+)"/.exec(attributes)?.[1];
    if (url !== undefined) references.push({ url, integrity: /\sintegrity="([^"]+)"/.exec(attributes)?.[1] });
  }
  return references;
}

/** The page's script: the one `/assets/*.js` it refers to. */
function scriptOf(html: string): string {
  const scripts = referencesOf(html).filter(({ url }) => url.endsWith('.js'));
  expect(scripts).toHaveLength(1);
  return scripts[0].url;
}

function expectNotFoundJson(response: Response): void {
  expect(response.status).toBe(404);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.body).toMatchObject({ statusCode: 404, code: 'not_found' });
  expect(response.headers['cache-control']).toBe('no-store');
}

describe(`GET /: the demo page and its assets (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;
  let html: string;

  beforeAll(async () => {
    demo = await startDemoApp();
    html = (await request(demo.url).get('/').expect(200)).text;
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('answers HTML with the strict CSP, no-cache and nosniff', async () => {
    const response = await request(demo.url).get('/').expect(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['content-security-policy']).toBe(PAGE_CSP);
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
    // The rest of useSecurityHeaders() stays.
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
  });

  it('has no inline script, no inline style, no event-handler attribute and nothing from another origin', () => {
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(attributes).toMatch(/\ssrc="\/assets\//);
      expect(body.trim()).toBe('');
    }
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
    for (const { url } of referencesOf(html)) expect(url).toMatch(/^\/assets\/[a-z0-9-]+\.(?:js|css|svg)$/);
    expect(html).not.toMatch(/\s(?:src|href)="(?:https?:)?\/\//i);
  });

  it('carries the contract’s data-testid hooks', () => {
    for (const id of ['auth-form', 'login', 'register', 'auth-error', 'whoami', 'session-list', 'logout', 'logout-all', 'password-form']) {
      expect(html).toContain(`data-testid="${id}"`);
    }
    for (const id of ['notice', 'refresh-panel', 'this-tab', 'last-refresh-at', 'last-refresh-by', 'ended-reason']) {
      expect(html).toContain(`data-testid="${id}"`);
    }
    expect(html).toMatch(/<body data-state="loading">/);
    for (const name of ['email', 'password', 'currentPassword', 'newPassword']) expect(html).toContain(`name="${name}"`);
  });

  it('serves each hashed asset with its type, a year of immutable caching, nosniff, and the hash and integrity it is named by', async () => {
    const references = referencesOf(html);
    const expected: Record<string, RegExp> = {
      js: /^text\/javascript; charset=utf-8$/,
      css: /^text\/css; charset=utf-8$/,
      svg: /^image\/svg\+xml/,
    };
    expect(references.map(({ url }) => url.split('.').pop()).sort()).toEqual(['css', 'js', 'svg']);
    for (const { url, integrity } of references) {
      const response = await request(demo.url).get(url).buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
      expect(response.status).toBe(200);
      const extension = url.split('.').pop() as string;
      expect(response.headers['content-type']).toMatch(expected[extension]);
      expect(response.headers['cache-control']).toBe(IMMUTABLE);
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      const body = response.body as Buffer;
      expect(body.length).toBeGreaterThan(0);
      const name = url.slice('/assets/'.length);
      expect(name).toMatch(/^(?:app|icon)-[0-9a-f]{12}\.(?:js|css|svg)$/);
      expect(name).toContain(createHash('sha256').update(body).digest('hex').slice(0, 12));
      if (extension !== 'svg') expect(integrity).toBe(`sha384-${createHash('sha384').update(body).digest('base64')}`);
    }
  });

  it('answers HEAD for the page and an asset like GET, without a body', async () => {
    const page = await request(demo.url).head('/').expect(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toBe(PAGE_CSP);
    expect(page.text ?? '').toBe('');
    const asset = await request(demo.url).head(scriptOf(html)).expect(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toBe(IMMUTABLE);
  });

  it('answers 404 JSON for an unknown asset', async () => {
    expectNotFoundJson(await request(demo.url).get('/assets/app-000000000000.js'));
    expectNotFoundJson(await request(demo.url).get('/assets/nope'));
  });

  it.each([
    '/assets/../build-info.json',
    '/assets/..%2fbuild-info.json',
    '/assets/%2e%2e%2fbuild-info.json',
    '/assets/%2e%2e/build-info.json',
    '/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
    '/assets/..%5cindex.html',
    '/assets/..\\index.html',
    '/assets/%5c..%5c..%5cpackage.json',
    '/assets/%2fetc%2fpasswd',
    '/assets/.',
    '/assets/..',
    '/assets/',
    '/assets',
    '/assets/build-info.json',
    '/build-info.json',
    '/index.html',
    '/assets/app.js%00.js',
  ])('gives nothing outside the assets and no listing: %s is a 404', async (path) => {
    const response = await request(demo.url).get(path);
    expectNotFoundJson(response);
    expect(response.text).not.toContain('sourceHash');
    expect(response.text).not.toContain('"dependencies"');
  });

  it('leaves the API as it was: JSON 404 for unknown routes, helmet’s CSP on API answers, /docs and /graphql', async () => {
    const unknown = await request(demo.url).get('/api/nope');
    expectNotFoundJson(unknown);
    expect(unknown.headers['content-security-policy']).not.toBe(PAGE_CSP);
    const health = await request(demo.url).get('/health').expect(200);
    expect(health.headers['content-security-policy']).toContain("script-src-attr 'none'");
    expect(health.headers['cache-control']).toBe('no-store');
    const spec = await request(demo.url).get('/docs-json').expect(200);
    expect(Object.keys(spec.body.paths['/'].get.responses)).toEqual(expect.arrayContaining(['200', '503']));
    await request(demo.url).get('/docs').redirects(1).expect(200);
    const graphql = await request(demo.url).post('/graphql').set('X-Auth-Mode', 'bearer').send({ query: '{ __typename }' }).expect(200);
    expect(graphql.body).toEqual({ data: { __typename: 'Query' } });
  });
});

describe(`GET / before the page is built (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;
  let webRoot: string;

  beforeAll(async () => {
    webRoot = await mkdtemp(join(tmpdir(), 'tessera-web-'));
    demo = await startDemoApp({ WEB_ROOT: webRoot });
  });

  afterAll(async () => {
    await demo?.close();
    await rm(webRoot, { recursive: true, force: true });
  });

  it('boots, answers 503 page_not_built with the command to run, and keeps the API working', async () => {
    const response = await request(demo.url).get('/').expect(503);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.body).toMatchObject({ statusCode: 503, code: 'page_not_built' });
    expect(response.body.message).toContain('nx run demo-api:build-web');
    expect(response.headers['content-security-policy']).not.toBe(PAGE_CSP);
    expectNotFoundJson(await request(demo.url).get('/assets/app-000000000000.js'));
    await request(demo.url).get('/health').expect(200);
  });

  it('serves the page once it is built, without a restart', async () => {
    buildDemoPage(webRoot);
    const response = await request(demo.url).get('/').expect(200);
    expect(response.headers['content-security-policy']).toBe(PAGE_CSP);
    await request(demo.url).get(scriptOf(response.text)).expect(200);
  });
});
