import type { LoggerService } from '@nestjs/common';
import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import request from 'supertest';
import { CookieClient, PAGE_ORIGIN } from '../support/cookie-client';
import { bearerLogin, bearerSignup, startDemoApp, testHttpAdapter, testSessionStore, uniqueEmail, REAL_BACKENDS } from '../support/demo-app';
import type { DemoApp } from '../support/demo-app';

/*
 * An HTTP fuzzer over every route of the demo app: the routes of its own OpenAPI document
 * (GET /docs-json, /graphql included) get fast-check-generated requests (random methods,
 * path parameters, JSON shapes and types, big and deeply nested bodies, unicode and control
 * characters, odd content types, random Cookie / Authorization / X-CSRF-Token / X-Auth-Mode /
 * Origin / Sec-Fetch-Site headers), with and without the credentials of real sessions. Every
 * answer must be < 500, a 4xx must be JSON with a string `code`, and no answer or log line
 * may carry a stack trace, a secret, the database URL, or a token of a session the request
 * did not carry.
 *
 * FUZZ_RUNS sets the number of requests (default 1000 on the default run, 300 on the Redis
 * and Fastify runs of `npm test`); a failure prints the request, the answer, and the seed
 * and path: replay it with FUZZ_SEED=<seed> FUZZ_PATH=<path>.
 */

const PASSWORD = 'fuzzing is a kind of testing';
// The fuzzer logs out, rotates and revokes the sessions it holds: new ones this often.
const SIGN_IN_EVERY = 25;
const DEFAULT_RUN = testSessionStore() !== 'redis' && testHttpAdapter() !== 'fastify';
const RUNS = Number(process.env.FUZZ_RUNS ?? (DEFAULT_RUN ? 1_000 : 300));
const REPLAY = process.env.FUZZ_SEED
  ? { seed: Number(process.env.FUZZ_SEED), ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}) }
  : {};

/** A request the fuzzer sends. */
interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** What came back. */
interface FuzzResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One real session's credentials; `strings` are what must never reach a request that did not carry them. */
interface Credentials {
  bearer: { accessToken: string; refreshToken: string; userId: string; sessionId: string };
  cookie: { header: string; csrfToken: string; userId: string; sessionId: string; values: string[] };
  victim: { accessToken: string; refreshToken: string; sessionId: string };
}

/** Every log call the app makes, as text. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(...args: unknown[]): void {
    this.capture('log', args);
  }
  error(...args: unknown[]): void {
    this.capture('error', args);
  }
  warn(...args: unknown[]): void {
    this.capture('warn', args);
  }
  debug(...args: unknown[]): void {
    this.capture('debug', args);
  }
  verbose(...args: unknown[]): void {
    this.capture('verbose', args);
  }
  fatal(...args: unknown[]): void {
    this.capture('fatal', args);
  }
  private capture(level: string, args: unknown[]): void {
    const text = args
      .map((arg) => (arg instanceof Error ? `${arg.message}\n${arg.stack ?? ''}` : typeof arg === 'string' ? arg : safeJson(arg)))
      .join(' ');
    this.lines.push(`${level}: ${text}`);
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Sends a request exactly as built (any method, raw body bytes, no header of its own but Host). */
function send(url: string, spec: FuzzRequest): Promise<FuzzResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: spec.method,
        path: spec.path,
        // Framed: Node sends a GET's body unframed otherwise, and the server reads it as a second request.
        headers: { ...spec.headers, connection: 'close', ...(spec.body ? { 'content-length': String(spec.body.length) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(spec.body);
  });
}

/** A request as a failure message shows it (bodies cut to 2 kB). */
function describeRequest(spec: FuzzRequest): string {
  const body = spec.body ? spec.body.toString('utf8') : '';
  return `${spec.method} ${spec.path}\n${Object.entries(spec.headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n')}\n\n${body.length > 2_048 ? `${body.slice(0, 2_048)}... (${body.length} characters)` : body}`;
}

// Stack frames and the paths of the code: none may reach a client.
const STACK = /\n\s+at \S|\bat (?:async )?[\w$.<>]+ \(|node_modules|\/(?:src|dist)\/[\w/-]+\.[jt]s|apps\/demo-api|libs\/session/;
// A JWT or a refresh token (<22-char id>.<generation>.<43>.<43>), whoever's it is.
const TOKEN_IN_LOG = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{20,}|[\w-]{22}\.\d{1,9}\.[\w-]{43}\.[\w-]{43}/;

/** The `code` of an error body (REST or GraphQL), if any. */
function codeOf(response: FuzzResponse): unknown {
  try {
    const body = JSON.parse(response.text) as { code?: unknown; errors?: { extensions?: { code?: unknown } }[] } | null;
    return body?.code ?? body?.errors?.[0]?.extensions?.code;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Generators

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const FIELDS = ['email', 'password', 'refreshToken', 'currentPassword', 'newPassword', 'roles', 'query', 'variables', 'operationName', 'id', 'userId', '__proto__', 'constructor'];

// Header values Node lets a client send: printable Latin-1 and tab (no CR, LF or NUL).
const headerText = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), maxLength: 80 }),
  fc.string({ unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff }), fc.constant(9)).map((code) => String.fromCharCode(code)), maxLength: 40 }),
  // Big, sometimes past Node's 16 kB of headers (431 from the server's clientError handler).
  fc.integer({ min: 1_000, max: 6_000 }).map((length) => 'A'.repeat(length)),
);

/** Text with everything awkward: unicode, lone surrogates, controls, NUL, RTL marks, huge. */
const nastyText = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', ' ', '\u0000', '\u202e', '\ud800', '\udfff', '💥'.repeat(50), 'a@b', 'x@example.com', '../../etc/passwd', '%00', "' OR 1=1 --", '${jndi:x}', '__proto__', 'null', '-1', '1e309', 'NaN'),
  fc.integer({ min: 1_000, max: 150_000 }).map((length) => 'x'.repeat(length)),
);

/** Deep arrays and objects (past the app's 32 levels). */
const deep = fc.tuple(fc.integer({ min: 20, max: 2_000 }), fc.boolean()).map(([depth, asObject]) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = asObject ? { a: value } : [value];
  return value;
});

const jsonish = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 3 }),
  nastyText,
  deep,
  fc.constantFrom(null, true, 0, -1, 1.5, 2 ** 53, [], {}),
);

function bodyFor(credentials: Credentials, route: string): fc.Arbitrary<{ contentType?: string; body?: Buffer }> {
  const known = fc.constantFrom(credentials.bearer.refreshToken, credentials.bearer.accessToken, credentials.cookie.csrfToken, credentials.bearer.sessionId);
  const objectBody = fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 10 })), fc.oneof(jsonish, known), { maxKeys: 6 });
  const graphqlBody = fc.record(
    {
      query: fc.oneof(
        fc.constantFrom(
          '{ version }',
          '{ me { id email roles } }',
          '{ sessions { id current } }',
          `{ userSessions(userId: "${credentials.bearer.userId}") { id } }`,
          `mutation { revokeSession(id: "${credentials.cookie.sessionId}") }`,
          'mutation($id: ID!) { revokeSession(id: $id) }',
          '{ __schema { types { name } } }',
          '{ me { id } me2: me { id } }',
          '{'.repeat(500),
          'query { version } query { version }',
        ),
        nastyText,
      ),
      variables: fc.oneof(
        { weight: 3, arbitrary: fc.dictionary(fc.constantFrom('id', 'userId', 'x'), fc.oneof(known, jsonish)) },
        { weight: 1, arbitrary: jsonish },
      ),
      operationName: fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 10 }) }, { weight: 1, arbitrary: jsonish }),
    },
    { requiredKeys: ['query'] },
  );
  const email = fc.oneof(fc.emailAddress(), fc.constant(null).map(() => uniqueEmail('fuzz')), nastyText);
  const password = fc.oneof(fc.constant(PASSWORD), fc.string({ unit: 'grapheme', minLength: 8, maxLength: 80 }), nastyText);
  // The route's own body with plausible values, so that requests get past validation to the handlers' logic.
  const own: Record<string, fc.Arbitrary<unknown>> = {
    '/auth/register': fc.record({ email, password }, { requiredKeys: [] }),
    '/auth/login': fc.record({ email, password }, { requiredKeys: [] }),
    '/api/me/password': fc.record({ currentPassword: password, newPassword: password }, { requiredKeys: [] }),
    '/auth/refresh': fc.record({ refreshToken: fc.oneof(known, nastyText) }, { requiredKeys: [] }),
    '/api/admin/users/{id}/roles': fc.record({
      roles: fc.oneof(fc.array(fc.constantFrom('user', 'admin', 'editor', ''), { maxLength: 4 }), fc.array(nastyText, { maxLength: 3 }), jsonish),
    }),
    '/auth/logout-all': fc.record({ keepCurrent: fc.oneof(fc.boolean(), jsonish) }, { requiredKeys: [] }),
    '/graphql': graphqlBody,
  };
  const preferred = own[route] ?? objectBody;
  const contentType = fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/json; charset=utf-16',
    'application/json; charset=latin1',
    'application/JSON',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/graphql',
    'application/graphql-response+json',
    'application/octet-stream',
    '*/*',
    ';;;',
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ contentType: fc.constant('application/json'), body: preferred.map((v) => Buffer.from(JSON.stringify(v))) }) },
    { weight: 3, arbitrary: fc.record({ contentType: fc.constant('application/json'), body: fc.oneof(graphqlBody, objectBody, jsonish).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) }) },
    { weight: 2, arbitrary: fc.record({ contentType, body: fc.oneof(objectBody, graphqlBody, jsonish).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) }) },
    { weight: 1, arbitrary: fc.record({ contentType, body: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }).map((v) => Buffer.from(v)), fc.uint8Array({ maxLength: 200 }).map((v) => Buffer.from(v)), fc.constantFrom('{', '{"a":', '[1,]', '{"email":"a"}garbage', 'email=a&password=b&roles[]=x', '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--').map((v) => Buffer.from(v))) }) },
    { weight: 1, arbitrary: fc.constant({}) },
  );
}

function headersFor(credentials: Credentials): fc.Arbitrary<Record<string, string>> {
  const cookie = fc.oneof(
    fc.constant(credentials.cookie.header),
    fc.constant(`${credentials.cookie.header}; ${credentials.cookie.header}`),
    fc.constantFrom(...credentials.cookie.values).map((pair) => `${pair}; ${pair.split('=')[0]}=x`),
    fc.array(fc.oneof(fc.constantFrom(...credentials.cookie.values), headerText.map((v) => `__Host-tessera-at=${v}`), headerText.map((v) => `__Secure-tessera-rt=${v}`), headerText.map((v) => `__Host-tessera-csrf=${v}`), headerText), { maxLength: 5 }).map((pairs) => pairs.join('; ')),
  );
  const authorization = fc.oneof(
    fc.constant(`Bearer ${credentials.bearer.accessToken}`),
    fc.constant(`bearer ${credentials.bearer.accessToken}`),
    fc.constant(`Bearer ${credentials.bearer.refreshToken}`),
    fc.constant(`Bearer ${credentials.bearer.accessToken} ${credentials.bearer.accessToken}`),
    fc.constant(`Bearer ${credentials.bearer.accessToken.slice(0, -2)}AA`),
    fc.constant(`Basic ${Buffer.from('a:b').toString('base64')}`),
    fc.constantFrom('Bearer', 'Bearer ', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Bearer a.b.c'),
    headerText.map((v) => `Bearer ${v}`),
    headerText,
  );
  const random = fc.record(
    {
      cookie,
      authorization,
      'x-csrf-token': fc.oneof(fc.constant(credentials.cookie.csrfToken), fc.constant(`${credentials.cookie.csrfToken}x`), headerText),
      'x-auth-mode': fc.oneof(fc.constantFrom('bearer', 'cookie', 'BEARER', ''), headerText),
      origin: fc.oneof(fc.constantFrom(PAGE_ORIGIN, 'http://evil.example', 'null', `${PAGE_ORIGIN}/`), headerText),
      'sec-fetch-site': fc.oneof(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none'), headerText),
      accept: fc.constantFrom('application/json', 'text/html', '*/*', 'application/graphql-response+json', ''),
      'x-forwarded-for': fc.constantFrom('1.2.3.4', '::1', 'garbage', '1.2.3.4, 5.6.7.8'),
      'user-agent': headerText,
      'accept-encoding': fc.constantFrom('gzip', 'br', 'identity', 'x'),
    },
    { requiredKeys: [] },
  );
  // What a real client sends, so that requests get past authentication and CSRF to the handlers.
  const bearer = fc.constant({ authorization: `Bearer ${credentials.bearer.accessToken}`, 'x-auth-mode': 'bearer' });
  const page = fc.record(
    {
      cookie: fc.constant(credentials.cookie.header),
      'x-csrf-token': fc.constant(credentials.cookie.csrfToken),
      origin: fc.constant(PAGE_ORIGIN),
      'sec-fetch-site': fc.constant('same-origin'),
    },
    { requiredKeys: ['cookie', 'x-csrf-token', 'origin'] },
  );
  return fc.oneof(random, bearer, page);
}

/** Path parameter values: the sessions' and users' own ids, and everything awkward. */
function paramFor(credentials: Credentials): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(credentials.bearer.userId, credentials.cookie.userId, credentials.bearer.sessionId, credentials.cookie.sessionId),
    fc.constantFrom('0', '-1', '1e3', '00000000-0000-0000-0000-000000000000', 'me', '..', '%2e%2e', '%00', '%ff', '%', '%E2%82', 'a%2Fb', '__proto__', '%20', '%09'),
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
    fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
    fc.integer({ min: 1_000, max: 10_000 }).map((length) => 'a'.repeat(length)),
  );
}

/** Query strings, sometimes. */
const query = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom('query', 'variables', 'a[b]', '__proto__'), fc.string({ maxLength: 5 })), fc.string({ maxLength: 30 })).map((q) => `?${new URLSearchParams(q).toString()}`) },
  { weight: 1, arbitrary: fc.constantFrom('?query=%7B%20version%20%7D', '?query={me{id}}', '?%', '?a=%ff', '?a&&&=') },
);

// ---------------------------------------------------------------------------------------

describe(`HTTP fuzzing of every route of the demo app (${REAL_BACKENDS})`, () => {
  const logger = new CapturingLogger();
  let demo: DemoApp;
  let routes: { path: string; methods: string[] }[];
  let credentials: Credentials;
  let databaseUrl: string;
  // One admin per sign-in (the first requests, then every SIGN_IN_EVERY more), named before the app starts.
  const adminEmails = Array.from({ length: Math.ceil(RUNS / SIGN_IN_EVERY) + 2 }, () => uniqueEmail('fuzz-admin'));

  /** Fresh sessions for the fuzzer (it may log them out, rotate or revoke them). */
  async function signIn(): Promise<Credentials> {
    const adminEmail = adminEmails.shift() ?? uniqueEmail('fuzz-user');
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email: adminEmail, password: PASSWORD }).expect(201);
    const admin = (await bearerLogin(demo.url, adminEmail, PASSWORD).expect(200)).body as {
      accessToken: string;
      refreshToken: string;
      user: { id: string };
      session: { id: string };
    };
    const page = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
    const email = uniqueEmail('fuzz-cookie');
    await page.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
    const login = await page.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    const victim = await bearerSignup(demo.url, 'fuzz-victim', PASSWORD);
    const header = page.cookieHeader('/auth/refresh');
    return {
      bearer: { accessToken: admin.accessToken, refreshToken: admin.refreshToken, userId: admin.user.id, sessionId: admin.session.id },
      cookie: {
        header,
        csrfToken: page.csrfToken ?? '',
        userId: (login.body as { user: { id: string } }).user.id,
        sessionId: (login.body as { session: { id: string } }).session.id,
        values: header.split('; '),
      },
      victim: { accessToken: victim.accessToken, refreshToken: victim.refreshToken, sessionId: victim.session.id },
    };
  }

  beforeAll(async () => {
    databaseUrl = process.env.TESSERA_TEST_DATABASE_URL ?? '';
    demo = await startDemoApp({ ALLOWED_ORIGINS: PAGE_ORIGIN, ADMIN_EMAILS: adminEmails.join(',') }, { logger });
    const docs = await send(demo.url, { method: 'GET', path: '/docs-json', headers: {} });
    expect(docs.status).toBe(200);
    const document = JSON.parse(docs.text) as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(document.paths).map(([path, item]) => ({ path, methods: Object.keys(item).map((m) => m.toUpperCase()) }));
    // The document is the source of the routes: it must at least name these.
    expect(routes.map((route) => route.path)).toEqual(expect.arrayContaining(['/auth/login', '/auth/refresh', '/auth/sessions/{id}', '/api/me', '/graphql']));
    credentials = await signIn();
  });

  afterAll(() => demo?.close());

  it(`answers ${RUNS} generated requests with < 500, a JSON code for every 4xx, and no stack trace, secret or other session's token`, async () => {
    const c = () => credentials;
    const requestArb = fc
      .nat({ max: routes.length - 1 })
      .chain((route) =>
        fc.record({
          route: fc.constant(route),
          method: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
          param: fc.constant(null).chain(() => paramFor(c())),
          query,
          headers: fc.constant(null).chain(() => headersFor(c())),
          body: fc.constant(null).chain(() => bodyFor(c(), routes[route].path)),
          trailingSlash: fc.boolean(),
        }),
      )
      .map(({ route, method, param, query: q, headers, body, trailingSlash }): FuzzRequest => {
        const chosen = routes[route];
        const path = chosen.path.replace(/\{[^}]+\}/g, param) + (trailingSlash ? '/' : '') + q;
        const all: Record<string, string> = { ...headers };
        if (body.contentType) all['content-type'] = body.contentType;
        const spec: FuzzRequest = { method: method || chosen.methods[route % chosen.methods.length], path, headers: all, body: body.body };
        // fast-check prints a counterexample with this: the request as it went out, not a byte array.
        return Object.assign(spec, { [fc.toStringMethod]: () => describeRequest(spec) });
      });

    let count = 0;
    const tally = new Map<string, number>();
    const routeOf = (path: string) => routes.find((route) => new RegExp(`^${route.path.replace(/\{[^}]+\}/g, '[^/]*')}/?(\\?|$)`).test(path))?.path ?? path;
    await fc.assert(
      fc.asyncProperty(requestArb, async (spec) => {
        // Every SIGN_IN_EVERY requests, fresh sessions: the fuzzer logs out, rotates and revokes the ones it holds.
        if (++count % SIGN_IN_EVERY === 0) credentials = await signIn();
        const response = await send(demo.url, spec);
        const key = `${spec.method} ${routeOf(spec.path)} ${response.status}${process.env.FUZZ_STATS ? ` ${codeOf(response) ?? ''}` : ''}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
        const problems = check(spec, response);
        if (problems.length > 0) {
          throw new Error(`${problems.join('\n')}\n--- request ---\n${describeRequest(spec)}\n--- response ${response.status} ---\n${JSON.stringify(response.headers)}\n${response.text.slice(0, 2_048)}`);
        }
      }),
      { numRuns: RUNS, endOnFailure: true, ...REPLAY },
    );

    if (process.env.FUZZ_STATS) process.stdout.write(`${[...tally].sort().map(([k, n]) => `${n}\t${k}`).join('\n')}\n`);
    // The credentials worked: some requests got through to a 2xx (else the fuzzer only saw 401s).
    expect([...tally].filter(([k]) => / 2\d\d\b/.test(k)).length).toBeGreaterThan(0);
    // The logger is the app's: it saw the app start (so an empty capture cannot pass for a clean one).
    expect(logger.lines.some((line) => line.includes('Listening on'))).toBe(true);
    const leaked = logger.lines.filter((line) => secretsIn(line, []).length > 0 || TOKEN_IN_LOG.test(line) || STACK.test(line));
    expect(leaked).toEqual([]);
  }, 240_000);

  /** The known secrets in `text` that `request` did not carry itself. */
  function secretsIn(text: string, carried: string[]): string[] {
    const { bearer, cookie, victim } = credentials;
    const secrets: Record<string, string> = {
      jwtSecret: demo.jwtSecret,
      sessionSecret: demo.sessionSecret,
      DATABASE_URL: databaseUrl,
      'victim access token': victim.accessToken,
      'victim refresh token': victim.refreshToken,
      'victim session id': victim.sessionId,
      'bearer access token': bearer.accessToken,
      'bearer refresh token': bearer.refreshToken,
      'cookie session CSRF token': cookie.csrfToken,
      ...Object.fromEntries(cookie.values.map((pair) => [`cookie ${pair.split('=')[0]}`, pair.slice(pair.indexOf('=') + 1)])),
    };
    return Object.entries(secrets)
      .filter(([, value]) => value.length >= 16 && text.includes(value) && !carried.some((sent) => sent.includes(value)))
      .map(([name]) => name);
  }

  function check(spec: FuzzRequest, response: FuzzResponse): string[] {
    const problems: string[] = [];
    if (response.status >= 500) problems.push(`status ${response.status}`);
    const carried = [spec.path, ...Object.values(spec.headers), spec.body?.toString('utf8') ?? ''];
    const everything = `${response.text}\n${JSON.stringify(response.headers)}`;
    const leaks = secretsIn(everything, carried);
    if (leaks.length > 0) problems.push(`leaks ${leaks.join(', ')}`);
    if (STACK.test(everything)) problems.push('carries a stack trace or a file path');
    if (response.status >= 400 && response.status < 500 && spec.method !== 'HEAD') {
      const type = String(response.headers['content-type'] ?? '');
      if (!/^application\/(?:graphql-response\+)?json/.test(type)) problems.push(`a ${response.status} that is not JSON (${type})`);
      else {
        if (typeof codeOf(response) !== 'string') problems.push(`a ${response.status} without a string code`);
      }
    }
    return problems;
  }
});
