import request from 'supertest';
import { bearerRefresh, bearerSignup, startDemoApp, uniqueEmail } from './support/demo-app';
import type { BearerLogin, DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const ACCESS_TOKEN_TTL_MS = 10 * 60_000;
const CLOCK_SKEW_MS = 5_000;

/** Role changes through `PUT /api/admin/users/:id/roles`, in each revocation mode. */
describe.each(['cached', 'stateless', 'strict'] as const)('role changes (REVOCATION_MODE=%s)', (mode) => {
  let demo: DemoApp;
  const root = uniqueEmail('root');
  const deputy = uniqueEmail('deputy');
  let admin: BearerLogin;

  const asAdmin = (token: string, userId: string) =>
    request(demo.url).get(`/api/admin/users/${userId}/sessions`).set('Authorization', `Bearer ${token}`);
  const setRoles = (token: string, userId: string, body: unknown) =>
    request(demo.url).put(`/api/admin/users/${userId}/roles`).set('Authorization', `Bearer ${token}`).send(body as object);

  beforeAll(async () => {
    demo = await startDemoApp({ REVOCATION_MODE: mode, ADMIN_EMAILS: `${root},${deputy}` });
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email: root, password: PASSWORD }).expect(201);
    admin = {
      email: root,
      ...(
        await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email: root, password: PASSWORD }).expect(200)
      ).body,
    };
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('a demoted admin loses the admin routes: at once in strict mode, otherwise at the next refresh and within ACCESS_TOKEN_TTL', async () => {
    await request(demo.url).post('/auth/register').send({ email: deputy, password: PASSWORD }).set('X-Auth-Mode', 'bearer').expect(201);
    const victim: BearerLogin = {
      email: deputy,
      ...(
        await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email: deputy, password: PASSWORD }).expect(200)
      ).body,
    };
    expect(victim.user.roles).toEqual(['user', 'admin']);
    await asAdmin(victim.accessToken, admin.user.id).expect(200);

    const changed = await setRoles(admin.accessToken, victim.user.id, { roles: ['user'] }).expect(200);
    expect(changed.body).toEqual({ id: victim.user.id, email: deputy, roles: ['user'] });
    expect(changed.headers['cache-control']).toBe('no-store');

    const me = await request(demo.url).get('/api/me').set('Authorization', `Bearer ${victim.accessToken}`).expect(200);
    if (mode === 'strict') {
      await asAdmin(victim.accessToken, admin.user.id).expect(403);
      expect(me.body.roles).toEqual(['user']);
    } else {
      // The token issued before the change carries the old roles until it is refreshed or expires.
      await asAdmin(victim.accessToken, admin.user.id).expect(200);
      expect(me.body.roles).toEqual(['user', 'admin']);
    }

    const refreshed = await bearerRefresh(demo.url, victim.refreshToken).expect(200);
    expect(refreshed.body.user).toEqual({ id: victim.user.id, email: deputy, roles: ['user'] });
    await asAdmin(refreshed.body.accessToken, admin.user.id).expect(403);

    // Whatever the mode, the old token is gone within one access-token lifetime.
    demo.clock.advance(ACCESS_TOKEN_TTL_MS + CLOCK_SKEW_MS + 1_000);
    const late = await asAdmin(victim.accessToken, admin.user.id).expect(401);
    expect(late.body.code).toBe('token_expired');
    // Log the admin back in on the moved clock for the tests that follow.
    admin = {
      email: root,
      ...(
        await request(demo.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email: root, password: PASSWORD }).expect(200)
      ).body,
    };
  });

  it('a promoted user gets the role at the next refresh (strict: the next request)', async () => {
    const user = await bearerSignup(demo.url, 'promoted', PASSWORD);
    await asAdmin(user.accessToken, admin.user.id).expect(403);
    await setRoles(admin.accessToken, user.user.id, { roles: ['user', 'auditor', 'admin'] }).expect(200);
    await asAdmin(user.accessToken, admin.user.id).expect(mode === 'strict' ? 200 : 403);
    const refreshed = await bearerRefresh(demo.url, user.refreshToken).expect(200);
    expect(refreshed.body.user.roles).toEqual(['user', 'auditor', 'admin']);
    await asAdmin(refreshed.body.accessToken, admin.user.id).expect(200);
  });

  it('answers 404 user_not_found for an unknown user, 403 to a non-admin, and 400 for bad bodies or ids', async () => {
    const missing = await setRoles(admin.accessToken, '00000000-0000-4000-8000-000000000000', { roles: ['user'] }).expect(404);
    expect(missing.body).toMatchObject({ statusCode: 404, code: 'user_not_found' });

    const user = await bearerSignup(demo.url, 'plain', PASSWORD);
    const forbidden = await setRoles(user.accessToken, user.user.id, { roles: ['admin'] }).expect(403);
    expect(forbidden.body.code).toBe('forbidden');

    for (const body of [
      {},
      { roles: 'admin' },
      { roles: [1] },
      { roles: ['Admin'] },
      { roles: ['user', 'user'] },
      { roles: Array.from({ length: 17 }, (_, i) => `r${i}`) },
      { roles: ['user'], extra: true },
    ]) {
      const bad = await setRoles(admin.accessToken, user.user.id, body).expect(400);
      expect(bad.body).toMatchObject({ code: 'validation_failed' });
    }
    const badId = await setRoles(admin.accessToken, 'not-a-uuid', { roles: ['user'] }).expect(400);
    expect(badId.body).toMatchObject({ code: 'validation_failed', fields: ['id'] });
    // Nothing changed for the user.
    const refreshed = await bearerRefresh(demo.url, user.refreshToken).expect(200);
    expect(refreshed.body.user.roles).toEqual(['user']);
  });
});

/** A role change made through one instance reaches sessions served by another (one database). */
describe('role changes across two instances', () => {
  const demos: DemoApp[] = [];

  afterAll(async () => {
    await Promise.all(demos.map((demo) => demo.close()));
  });

  it.each(['cached', 'strict'] as const)('%s: the other instance honours the change as documented', async (mode) => {
    const root = uniqueEmail('root2');
    const deputy = uniqueEmail('deputy2');
    const env = { REVOCATION_MODE: mode, ADMIN_EMAILS: `${root},${deputy}` };
    const [a, b] = [await startDemoApp(env), await startDemoApp(env)];
    demos.push(a, b);
    const login = async (url: string, email: string): Promise<BearerLogin> => {
      await request(url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD });
      const response = await request(url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(200);
      return { email, ...response.body };
    };
    const rootLogin = await login(a.url, root);
    const victim = await login(b.url, deputy);
    const adminRoute = (url: string, token: string) =>
      request(url).get(`/api/admin/users/${rootLogin.user.id}/sessions`).set('Authorization', `Bearer ${token}`);
    await adminRoute(b.url, victim.accessToken).expect(200);
    // Warm instance b's memory of the victim (its resolveUser answers are cached a minute).
    const warmed = await bearerRefresh(b.url, victim.refreshToken).expect(200);
    expect(warmed.body.user.roles).toEqual(['user', 'admin']);

    await request(a.url)
      .put(`/api/admin/users/${victim.user.id}/roles`)
      .set('Authorization', `Bearer ${rootLogin.accessToken}`)
      .send({ roles: ['user'] })
      .expect(200);

    await adminRoute(b.url, warmed.body.accessToken).expect(mode === 'strict' ? 403 : 200);
    const refreshed = await bearerRefresh(b.url, warmed.body.refreshToken).expect(200);
    expect(refreshed.body.user.roles).toEqual(['user']);
    await adminRoute(b.url, refreshed.body.accessToken).expect(403);
  });
});
