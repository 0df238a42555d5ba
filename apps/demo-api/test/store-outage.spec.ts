import request from 'supertest';
import { UsersService } from '../src/app/users/users.service';
import { REAL_BACKENDS, startDemoApp, uniqueEmail } from './support/demo-app';
import type { DemoApp } from './support/demo-app';
import { eventually, privateStore } from './support/private-store';
import type { PrivateStore } from './support/private-store';

const PASSWORD = 'correct horse battery';

describe(`the session store unreachable (${REAL_BACKENDS}, this test's own)`, () => {
  let store: PrivateStore;
  let demo: DemoApp;
  let checks = 0;

  beforeAll(async () => {
    store = await privateStore();
    demo = await startDemoApp(store.env);
    const users = demo.app.get(UsersService);
    const verify = users.verifyCredentials.bind(users);
    jest.spyOn(users, 'verifyCredentials').mockImplementation((email, password) => {
      checks += 1;
      return verify(email, password);
    });
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await store?.up().catch(() => undefined);
    await demo?.close().catch(() => undefined);
    await store?.close();
  });

  it('answers a login with 503 store_unavailable without checking the password (never 401, never unthrottled), and /health with 503; both recover', async () => {
    const email = uniqueEmail('outage');
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
    const login = (password: string) => request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password });
    await request(demo.url).get('/health').expect(200);

    await store.down();
    const before = checks;
    for (const password of [PASSWORD, 'not the password']) {
      const refused = await login(password);
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 503, code: 'store_unavailable' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    // The counters could not reserve the attempts: no password was checked.
    expect(checks).toBe(before);
    const health = await eventually(() => request(demo.url).get('/health'), 503);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({
      status: 'error',
      store: 'down',
      storeType: demo.store,
      // On PostgreSQL the store is the database.
      code: demo.store === 'postgres' ? 'database_unavailable' : 'store_unavailable',
    });

    await store.up();
    expect((await eventually(() => request(demo.url).get('/health'), 200)).body).toEqual({
      status: 'ok',
      database: 'up',
      store: 'up',
      storeType: demo.store,
    });
    expect((await eventually(() => login(PASSWORD), 200)).status).toBe(200);
  });

  it('answers GraphQL sessions and revokeSession with the code, status and Retry-After of GET /auth/sessions (never a token error); both recover', async () => {
    const email = uniqueEmail('outage-graphql');
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
    const session = (await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(200)).body;
    const auth = `Bearer ${session.accessToken}`;
    const graphql = (query: string, variables?: object) => request(demo.url).post('/graphql').set('Authorization', auth).send({ query, variables });
    const revoke = () => graphql('mutation($id: ID!) { revokeSession(id: $id) }', { id: session.session.id });

    await store.down();
    const rest = await request(demo.url).get('/auth/sessions').set('Authorization', auth);
    // Both stores report an outage as such (503 store_unavailable); GraphQL must answer exactly what REST does.
    expect({ status: rest.status, code: rest.body.code }).toEqual({ status: 503, code: 'store_unavailable' });
    for (const response of [await graphql('{ sessions { id } }'), await revoke()]) {
      expect(response.status).toBe(200);
      expect(response.body.errors).toHaveLength(1);
      const { code, status, retryAfter } = response.body.errors[0].extensions;
      expect({ code, status }).toEqual({ code: rest.body.code, status: rest.status });
      expect(response.headers['retry-after']).toBe(rest.headers['retry-after']);
      if (rest.status === 503) expect(retryAfter).toBe(Number(rest.headers['retry-after']));
      expect(response.text).not.toMatch(/ECONNREFUSED|terminat|stacktrace|SELECT|tessera_sessions/i);
    }

    await store.up();
    const listed = await eventually(async () => {
      const response = await graphql('{ sessions { id } }');
      // A GraphQL answer is a 200 either way: report the listing's success as its status.
      return Object.assign(response, { status: response.body.data ? 200 : 503 });
    }, 200);
    expect(listed.body).toEqual({ data: { sessions: [{ id: session.session.id }] } });
  });
});
