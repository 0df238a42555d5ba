import { SessionStore } from '@tessera/session';
import request from 'supertest';
import { startDemoApp, uniqueEmail, REAL_BACKENDS } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';

describe(`demo-api: a password change racing an admin's revocation of the user's sessions (${REAL_BACKENDS})`, () => {
  const adminEmail = uniqueEmail('reissue-race-admin');
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp({ REVOCATION_MODE: 'strict', ADMIN_EMAILS: adminEmail });
  });

  afterAll(async () => {
    await demo?.close();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  async function register(email: string): Promise<void> {
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
  }

  async function bearerLogin(email: string) {
    const login = await request(demo.url)
      .post('/auth/login')
      .set('X-Auth-Mode', 'bearer')
      .send({ email, password: PASSWORD })
      .expect(200);
    return login.body as { accessToken: string; refreshToken: string; session: { id: string }; user: { id: string } };
  }

  it('finding 6: the session being re-issued is revoked by the admin first: 401 session_revoked and no live session', async () => {
    const email = uniqueEmail('reissue-race');
    await register(email);
    await register(adminEmail);
    const [changer, admin] = [await bearerLogin(email), await bearerLogin(adminEmail)];

    // The admin's DELETE /api/admin/users/:id/sessions lands, over HTTP, at the worst moment
    // of the password change: after it revoked the user's other sessions and read its own
    // as live, before it writes the successor (by `reissue`; before the fix, by `create`).
    const store = demo.app.get<SessionStore>(SessionStore);
    let passwordChanged = false;
    let adminRevocation: Promise<request.Response> | undefined;
    const revokeByUser = store.revokeByUser.bind(store);
    jest.spyOn(store, 'revokeByUser').mockImplementation(async (...args) => {
      if (args[1] === 'password_changed') passwordChanged = true;
      return revokeByUser(...args);
    });
    const adminRevokesFirst = async () => {
      if (!passwordChanged || adminRevocation) return;
      adminRevocation = request(demo.url)
        .delete(`/api/admin/users/${changer.user.id}/sessions`)
        .set('Authorization', `Bearer ${admin.accessToken}`);
      await adminRevocation;
    };
    for (const write of ['create', 'reissue'] as const) {
      const original = (store[write] as (...args: unknown[]) => Promise<unknown>).bind(store);
      jest.spyOn(store, write).mockImplementation((async (...args: unknown[]) => {
        await adminRevokesFirst();
        return original(...args);
      }) as never);
    }

    const changed = await request(demo.url)
      .post('/api/me/password')
      .set('Authorization', `Bearer ${changer.accessToken}`)
      .send({ currentPassword: PASSWORD, newPassword: 'a brand new password' });

    expect((await adminRevocation)?.status).toBe(204);
    expect(changed.status).toBe(401);
    expect(changed.body.code).toBe('session_revoked');
    expect(changed.body.accessToken).toBeUndefined();
    expect(await store.listByUser(changer.user.id, new Date())).toEqual([]);
    await request(demo.url).get('/api/me').set('Authorization', `Bearer ${changer.accessToken}`).expect(401);
  });
});
