import request from 'supertest';
import type { Response, Test } from 'supertest';
import { CookieClient, CSRF_COOKIE, PAGE_ORIGIN } from './support/cookie-client';
import { bearerSignup, startDemoApp, uniqueEmail, REAL_BACKENDS } from './support/demo-app';
import type { BearerLogin, DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const ACCESS_COOKIE = '__Host-tessera-at';
const EVIL = 'http://evil.example';
const REVOKE = 'mutation Revoke($id: ID!) { revokeSession(id: $id) }';
const SESSION_FIELDS = 'id createdAt lastSeenAt expiresAt userAgent ip current device { browser os type label } contextChangedAt';

/** One GraphQL error as the demo sends it. */
interface GraphqlError {
  message: string;
  path?: string[];
  extensions: { code: string; status?: number; [key: string]: unknown };
}

/**
 * Every GraphQL answer of this file goes through here: whatever it is, it carries no stack
 * trace, no token and no secret of the app, and has the demo's headers.
 */
function checked(demo: DemoApp, response: Response, tokens: string[] = []): Response {
  expect(response.text).not.toMatch(/stacktrace|originalError|"exception"|\n\s+at /);
  for (const secret of [demo.jwtSecret, demo.sessionSecret, ...tokens]) expect(response.text).not.toContain(secret);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['x-content-type-options']).toBe('nosniff');
  return response;
}

/** The one error of a GraphQL 200 answer (a field refused or failed). */
function onlyError(response: Response): GraphqlError {
  expect(response.status).toBe(200);
  expect(response.body.errors).toHaveLength(1);
  return response.body.errors[0];
}

describe(`demo-api: GraphQL at /graphql (${REAL_BACKENDS})`, () => {
  const adminEmail = uniqueEmail('graphql-admin');
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp({ ALLOWED_ORIGINS: PAGE_ORIGIN, ADMIN_EMAILS: adminEmail });
  });

  afterAll(async () => {
    await demo?.close();
  });

  /**
   * A JSON POST to /graphql with `headers`, its answer checked (`tokens` must not appear in
   * it); `.expect(status)` asserts the status as supertest's would.
   */
  function post(
    query: string,
    headers: Record<string, string> = {},
    variables?: object,
    tokens: string[] = [],
  ): Promise<Response> & { expect(status: number): Promise<Response> } {
    let pending: Test = request(demo.url).post('/graphql').set('Content-Type', 'application/json');
    for (const [name, value] of Object.entries(headers)) pending = pending.set(name, value);
    const answer = pending.send({ query, variables }).then((response) => checked(demo, response, tokens));
    return Object.assign(answer, {
      expect: async (status: number) => {
        const response = await answer;
        expect({ status: response.status, body: response.body }).toMatchObject({ status });
        return response;
      },
    });
  }

  function bearer(login: BearerLogin): Record<string, string> {
    return { Authorization: `Bearer ${login.accessToken}` };
  }

  /** A new user signed in in cookie mode: the page, and the user's id and session. */
  async function cookieSignup(label: string): Promise<{ page: CookieClient; email: string; userId: string; sessionId: string }> {
    const page = new CookieClient(demo.url, { origin: PAGE_ORIGIN });
    const email = uniqueEmail(label);
    await page.post('/auth/register').send({ email, password: PASSWORD }).expect(201);
    const login = await page.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
    return { page, email, userId: login.body.user.id, sessionId: login.body.session.id };
  }

  /** The page's cookies, as a header for a request the test builds itself (no CSRF header, no Origin). */
  function cookiesOf(page: CookieClient): Record<string, string> {
    return { Cookie: page.cookieHeader('/graphql') };
  }

  it('answers the public version query without a credential', async () => {
    const response = await post('{ version }').expect(200);
    expect(response.body).toEqual({ data: { version: expect.stringMatching(/^\d+\.\d+\.\d+$/) } });
  });

  it('answers me in bearer mode like GET /api/me', async () => {
    const login = await bearerSignup(demo.url, 'graphql-me', PASSWORD);
    const rest = await request(demo.url).get('/api/me').set(bearer(login)).expect(200);
    const response = await post('{ me { id email roles sessionId } }', bearer(login), undefined, [login.accessToken]).expect(200);
    expect(response.body).toEqual({ data: { me: rest.body } });
    expect(rest.body).toEqual({ id: login.user.id, email: login.email, roles: ['user'], sessionId: login.session.id });
  });

  it('answers me in cookie mode, and a query needs no CSRF token (POST and GET)', async () => {
    const { page, email, userId, sessionId } = await cookieSignup('graphql-cookie');
    const expected = { data: { me: { id: userId, email, roles: ['user'], sessionId } } };
    const query = '{ me { id email roles sessionId } }';
    const tokens = [page.cookie(ACCESS_COOKIE) as string];
    expect(checked(demo, await page.post('/graphql').send({ query }).expect(200), tokens).body).toEqual(expected);
    // Without X-CSRF-Token or Origin: a query cannot change state.
    expect((await post(query, cookiesOf(page), undefined, tokens).expect(200)).body).toEqual(expected);
    const get = await request(demo.url)
      .get('/graphql')
      .query({ query })
      .set(cookiesOf(page))
      // Apollo's csrfPrevention: a GET must show it is not a simple cross-site request.
      .set('Apollo-Require-Preflight', 'true')
      .expect(200);
    expect(checked(demo, get, tokens).body).toEqual(expected);
  });

  it('refuses a GET without a preflight-forcing header (Apollo csrfPrevention): nothing runs', async () => {
    const { page } = await cookieSignup('graphql-simple-get');
    const response = await request(demo.url).get('/graphql').query({ query: '{ me { id } }' }).set(cookiesOf(page));
    expect(response.status).toBe(400);
    expect(checked(demo, response).text).toContain('Cross-Site Request Forgery');
  });

  it('answers a field that needs a session, without a credential, with extensions.code token_missing', async () => {
    const error = onlyError(await post('{ me { id } }'));
    expect(error).toEqual({
      message: 'Authentication required',
      locations: [{ line: 1, column: 3 }],
      path: ['me'],
      extensions: { code: 'token_missing', status: 401 },
    });
  });

  it('answers token_invalid for a forged or garbled token', async () => {
    const login = await bearerSignup(demo.url, 'graphql-forged', PASSWORD);
    const [header, payload] = login.accessToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    for (const token of ['garbage', forged]) {
      const error = onlyError(await post('{ me { id } }', { Authorization: `Bearer ${token}` }, undefined, [forged]));
      expect(error.extensions).toEqual({ code: 'token_invalid', status: 401 });
    }
  });

  it('refuses a cookie-mode revokeSession without X-CSRF-Token (csrf_failed) or from another origin, and runs it with the token', async () => {
    const { page, email } = await cookieSignup('graphql-csrf');
    const other = (await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(200)).body;
    const variables = { id: other.session.id };
    const token = page.csrfToken as string;

    const refusals = [
      { ...cookiesOf(page), Origin: PAGE_ORIGIN }, // no token
      { ...cookiesOf(page), Origin: PAGE_ORIGIN, 'X-CSRF-Token': 'x'.repeat(token.length) }, // a wrong one
      { ...cookiesOf(page), Origin: EVIL, 'X-CSRF-Token': token }, // another site, even with the token
      { ...cookiesOf(page), 'Sec-Fetch-Site': 'cross-site', 'X-CSRF-Token': token },
    ];
    for (const headers of refusals) {
      const error = onlyError(await post(REVOKE, headers, variables));
      expect(error).toEqual({
        message: expect.stringContaining('CSRF'),
        locations: expect.any(Array),
        path: ['revokeSession'],
        extensions: { code: 'csrf_failed', status: 403 },
      });
    }
    // None of them ran: the other session still works.
    expect((await post('{ me { id } }', { Authorization: `Bearer ${other.accessToken}` }).expect(200)).body.data.me.id).toBe(other.user.id);

    const done = await post(REVOKE, { ...cookiesOf(page), Origin: PAGE_ORIGIN, 'X-CSRF-Token': token }, variables).expect(200);
    expect(done.body).toEqual({ data: { revokeSession: true } });
    // The revoked session's token fails on its next request.
    const revoked = onlyError(await post('{ me { id } }', { Authorization: `Bearer ${other.accessToken}` }));
    expect(revoked.extensions).toEqual({ code: 'session_revoked', status: 401 });
  });

  it('does not run a mutation sent as GET', async () => {
    const { page, email } = await cookieSignup('graphql-get-mutation');
    const other = (await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(200)).body;
    const response = await request(demo.url)
      .get('/graphql')
      .query({ query: `mutation { revokeSession(id: "${other.session.id}") }` })
      .set(cookiesOf(page))
      .set('Apollo-Require-Preflight', 'true')
      .set('X-CSRF-Token', page.csrfToken as string);
    expect(response.status).toBe(405);
    checked(demo, response);
    expect((await post('{ me { id } }', { Authorization: `Bearer ${other.accessToken}` }).expect(200)).body.data.me.id).toBe(other.user.id);
  });

  it("lists only the caller's sessions, and revokes only the caller's (session_not_found otherwise)", async () => {
    const alice = await bearerSignup(demo.url, 'graphql-alice', PASSWORD);
    const aliceAgain = (await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email: alice.email, password: PASSWORD }).expect(200))
      .body;
    const bob = await bearerSignup(demo.url, 'graphql-bob', PASSWORD);

    const listed = await post(`{ sessions { ${SESSION_FIELDS} } }`, bearer(alice)).expect(200);
    const rest = await request(demo.url).get('/auth/sessions').set(bearer(alice)).expect(200);
    expect(listed.body.data.sessions).toEqual(rest.body);
    expect(listed.body.data.sessions.map((session: { id: string }) => session.id).sort()).toEqual([alice.session.id, aliceAgain.session.id].sort());
    expect(listed.body.data.sessions.find((session: { current: boolean }) => session.current).id).toBe(alice.session.id);

    for (const id of [bob.session.id, 'not-a-session-id']) {
      const error = onlyError(await post(REVOKE, bearer(alice), { id }));
      expect(error).toEqual({
        message: 'No such session',
        locations: expect.any(Array),
        path: ['revokeSession'],
        extensions: { code: 'session_not_found', status: 404 },
      });
    }
    // Bob's session was not touched.
    expect((await post('{ me { id } }', bearer(bob)).expect(200)).body.data.me.id).toBe(bob.user.id);
    const bobs = await post('{ sessions { id } }', bearer(bob)).expect(200);
    expect(bobs.body.data.sessions).toEqual([{ id: bob.session.id }]);

    // Alice revokes her own other session: its token fails at once.
    expect((await post(REVOKE, bearer(alice), { id: aliceAgain.session.id }).expect(200)).body).toEqual({ data: { revokeSession: true } });
    expect(onlyError(await post('{ me { id } }', { Authorization: `Bearer ${aliceAgain.accessToken}` })).extensions).toEqual({
      code: 'session_revoked',
      status: 401,
    });
    expect((await post('{ sessions { id } }', bearer(alice)).expect(200)).body.data.sessions).toEqual([{ id: alice.session.id }]);
  });

  it('clears the cookies when a cookie-mode caller revokes its own current session', async () => {
    const { page, sessionId } = await cookieSignup('graphql-self');
    const response = await page.post('/graphql').send({ query: REVOKE, variables: { id: sessionId } }).expect(200);
    expect(checked(demo, response).body).toEqual({ data: { revokeSession: true } });
    expect(page.cookie(ACCESS_COOKIE)).toBeUndefined();
    expect(([] as string[]).concat(response.headers['set-cookie'] ?? []).join('\n')).toContain(`${CSRF_COOKIE}=;`);
  });

  it('enforces @Roles(admin) on userSessions: forbidden for a user, the list for an admin', async () => {
    const user = await bearerSignup(demo.url, 'graphql-user', PASSWORD);
    const query = `query($userId: ID!) { userSessions(userId: $userId) { ${SESSION_FIELDS} } }`;
    const refused = onlyError(await post(query, bearer(user), { userId: user.user.id }));
    expect(refused).toMatchObject({ message: 'Insufficient role', path: ['userSessions'], extensions: { code: 'forbidden', status: 403 } });

    await request(demo.url).post('/auth/register').send({ email: adminEmail, password: PASSWORD }).set('X-Auth-Mode', 'bearer').expect(201);
    const admin = (await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email: adminEmail, password: PASSWORD }).expect(200))
      .body as BearerLogin;
    const listed = await post(query, bearer(admin), { userId: user.user.id.toUpperCase() }).expect(200);
    const rest = await request(demo.url).get(`/api/admin/users/${user.user.id}/sessions`).set(bearer(admin)).expect(200);
    expect(listed.body).toEqual({ data: { userSessions: rest.body } });
    expect(rest.body.map((session: { id: string }) => session.id)).toEqual([user.session.id]);

    const invalid = onlyError(await post(query, bearer(admin), { userId: 'not-a-uuid' }));
    expect(invalid).toMatchObject({ message: 'userId must be a UUID', extensions: { code: 'validation_failed', status: 400, fields: ['userId'] } });
  });

  it('refuses a body over 100 kB with 413, and an unknown field with a GraphQL validation error', async () => {
    const big = await request(demo.url)
      .post('/graphql')
      .set('Content-Type', 'application/json')
      .send({ query: `{ version } # ${'x'.repeat(101 * 1024)}` });
    expect(big.status).toBe(413);
    expect(checked(demo, big).body).toMatchObject({ code: 'payload_too_large' });

    const unknown = await post('{ password }').expect(400);
    expect(unknown.body.errors[0].extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('is described in the OpenAPI document', async () => {
    const spec = await request(demo.url).get('/docs-json').expect(200);
    expect(Object.keys(spec.body.paths['/graphql']).sort()).toEqual(['get', 'post']);
    expect(spec.body.paths['/graphql'].post.responses['200'].description).toContain('extensions.code');
    // The schemes it names exist in the document.
    expect(Object.keys(spec.body.components.securitySchemes)).toEqual(expect.arrayContaining(['bearer', 'access-cookie']));
  });

  it('answers token_expired once the access token has expired (last: it moves the clock)', async () => {
    const login = await bearerSignup(demo.url, 'graphql-expired', PASSWORD);
    demo.clock.advance(11 * 60_000); // past the 10-minute ACCESS_TOKEN_TTL
    const error = onlyError(await post('{ me { id } }', bearer(login)));
    expect(error.extensions).toEqual({ code: 'token_expired', status: 401 });
  });
});

describe('demo-api: GraphQL introspection and landing page by NODE_ENV', () => {
  const introspection = '{ __schema { queryType { name } } }';

  it('serves both in development', async () => {
    const demo = await startDemoApp({ NODE_ENV: 'development' });
    try {
      const schema = await request(demo.url).post('/graphql').send({ query: introspection }).expect(200);
      expect(schema.body).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
      const page = await request(demo.url).get('/graphql').set('Accept', 'text/html').expect(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      expect(page.text).toContain('graphiql');
      // The demo's strict CSP still covers the landing page.
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    } finally {
      await demo.close();
    }
  });

  it('serves neither in production', async () => {
    const demo = await startDemoApp({ NODE_ENV: 'production' });
    try {
      const schema = await request(demo.url).post('/graphql').send({ query: introspection });
      expect(schema.status).toBe(400);
      expect(schema.body.errors[0].extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', validationErrorCode: 'INTROSPECTION_DISABLED' });
      expect(schema.text).not.toContain('queryType');
      const page = await request(demo.url).get('/graphql').set('Accept', 'text/html');
      expect(page.text).not.toMatch(/graphiql/i);
      expect(page.status).toBe(400);
    } finally {
      await demo.close();
    }
  });
});
