import { SessionSockets } from '@tessera/session';
import { io } from 'socket.io-client';
import type { ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import request from 'supertest';
import { CookieClient, PAGE_ORIGIN } from './support/cookie-client';
import { REAL_BACKENDS, bearerLogin, bearerRefresh, bearerSignup, startDemoApp, uniqueEmail } from './support/demo-app';
import type { BearerLogin, DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
/** Generous bound on anything a test waits for (an event, a close); never a sleep. */
const WAIT_MS = 10_000;
const ACCESS_COOKIE = '__Host-tessera-at';

/** A socket.io client of the demo's `/ws`, websocket transport, no automatic reconnection. */
function connect(url: string, options: Partial<ManagerOptions & SocketOptions> = {}): Socket {
  const socket = io(`${url}/ws`, { transports: ['websocket'], reconnection: false, forceNew: true, ...options });
  sockets.add(socket);
  return socket;
}

const sockets = new Set<Socket>();
afterEach(() => {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
});

/** Resolves with `promise`, or rejects after `ms` naming what was awaited. */
function within<T>(promise: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves once the socket is connected; rejects with its connect_error. */
function connected(socket: Socket): Promise<Socket> {
  return within(
    new Promise<Socket>((resolve, reject) => {
      if (socket.connected) return resolve(socket);
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', (error) => reject(new Error(`connect_error: ${JSON.stringify((error as { data?: unknown }).data)}`)));
    }),
    'connect',
  );
}

/** The `connect_error` of a refused handshake: its message and `data`. */
function refused(socket: Socket): Promise<{ message: string; data: unknown }> {
  return within(
    new Promise((resolve, reject) => {
      socket.once('connect', () => reject(new Error('the handshake was accepted')));
      socket.once('connect_error', (error) => resolve({ message: error.message, data: (error as { data?: unknown }).data }));
    }),
    'connect_error',
  );
}

/** What a socket saw when it was closed: the `session.ended` payload, and the client's disconnect reason. */
interface Ending {
  ended: unknown;
  reason: string;
}

/** Starts watching a connected socket for its end (call before triggering it). */
function ending(socket: Socket): Promise<Ending> {
  let ended: unknown;
  socket.once('session.ended', (payload) => {
    ended = payload;
  });
  return within(
    new Promise<Ending>((resolve) => socket.once('disconnect', (reason) => resolve({ ended, reason }))),
    'the socket to close',
  );
}

/** The next `event` a socket receives. */
function next<T = unknown>(socket: Socket, event: string): Promise<T> {
  return within(new Promise<T>((resolve) => socket.once(event, (payload: T) => resolve(payload))), `"${event}"`);
}

/** A connected socket authenticated with `auth.token`. */
async function socketOf(url: string, token: string): Promise<Socket> {
  return connected(connect(url, { auth: { token } }));
}

/** Asks the socket who it is (`me`, answered through the acknowledgement). */
function me(socket: Socket): Promise<{ id: string; roles: string[]; sessionId: string }> {
  return within(socket.emitWithAck('me'), 'the answer to "me"');
}

const bearer = (token: string) => `Bearer ${token}`;

describe(`WebSockets /ws (socket.io-client against the demo app on ${REAL_BACKENDS})`, () => {
  let a: DemoApp;
  let b: DemoApp;
  const adminEmail = uniqueEmail('ws-admin');

  beforeAll(async () => {
    const env = { ALLOWED_ORIGINS: PAGE_ORIGIN, ADMIN_EMAILS: adminEmail };
    a = await startDemoApp(env);
    // A second instance on the same database and store, in another revocation mode: the
    // feed that closes sockets is open in every mode.
    b = await startDemoApp({ ...env, REVOCATION_MODE: 'stateless', JWT_SECRET: a.jwtSecret, SESSION_SECRET: a.sessionSecret });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  const signup = (demo: DemoApp = a, label = 'ws') => bearerSignup(demo.url, label, PASSWORD);
  /** Moves both instances' clocks (each verifies the other's tokens). */
  const advance = (ms: number) => {
    a.clock.advance(ms);
    b.clock.advance(ms);
  };

  describe('handshake', () => {
    it('admits a socket with the access token in auth.token; messages see its user and session', async () => {
      const user = await signup();
      const socket = await socketOf(a.url, user.accessToken);
      expect(await me(socket)).toEqual({ id: user.user.id, roles: user.user.roles, sessionId: user.session.id });
    });

    it('admits a socket with the access cookie of a cookie-mode login, from an allowed origin', async () => {
      const email = uniqueEmail('ws-cookie');
      await request(a.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
      const browser = new CookieClient(a.url, { origin: PAGE_ORIGIN });
      const login = await browser.post('/auth/login').send({ email, password: PASSWORD }).expect(200);
      const cookie = browser.cookie(ACCESS_COOKIE);
      expect(cookie).toBeDefined();
      const socket = await connected(connect(a.url, { extraHeaders: { cookie: `${ACCESS_COOKIE}=${cookie}`, origin: PAGE_ORIGIN } }));
      expect((await me(socket)).sessionId).toBe(login.body.session.id);
    });

    it('refuses the access cookie from a cross-site origin (cross-site WebSocket hijacking): csrf_failed', async () => {
      const user = await signup();
      const cookie = `${ACCESS_COOKIE}=${user.accessToken}`;
      const foreign = await refused(connect(a.url, { extraHeaders: { cookie, origin: 'https://evil.example' } }));
      expect(foreign.data).toEqual({ code: 'csrf_failed' });
      const crossSite = await refused(connect(a.url, { extraHeaders: { cookie, 'sec-fetch-site': 'cross-site' } }));
      expect(crossSite.data).toEqual({ code: 'csrf_failed' });
      // The same token in auth.token carries no ambient authority: any origin.
      await connected(connect(a.url, { auth: { token: user.accessToken }, extraHeaders: { origin: 'https://evil.example' } }));
    });

    it('never reads a token from the query string: token_missing', async () => {
      const user = await signup();
      const refusal = await refused(connect(a.url, { query: { token: user.accessToken, access_token: user.accessToken } }));
      expect(refusal.data).toEqual({ code: 'token_missing' });
    });

    it('refuses a handshake without a credential, or with an invalid one, with a code and no stack', async () => {
      const none = await refused(connect(a.url));
      expect(none).toEqual({ message: 'Authentication required', data: { code: 'token_missing' } });
      const invalid = await refused(connect(a.url, { auth: { token: 'not-a-jwt' } }));
      expect(invalid.data).toEqual({ code: 'token_invalid' });
      const notString = await refused(connect(a.url, { auth: { token: 42 } }));
      expect(notString.data).toEqual({ code: 'token_invalid' });
      for (const refusal of [none, invalid, notString]) expect(JSON.stringify(refusal)).not.toMatch(/ at |\.ts:|stack/);
    });

    it('refuses a handshake of a revoked session: session_revoked', async () => {
      const user = await signup();
      await request(a.url).post('/auth/logout').set('Authorization', bearer(user.accessToken)).expect(204);
      expect((await refused(connect(a.url, { auth: { token: user.accessToken } }))).data).toEqual({ code: 'session_revoked' });
    });
  });

  describe('revocation closes the session’s sockets, with a reason the client reads', () => {
    it('logout: session.ended { code: session_revoked }, then the server disconnects', async () => {
      const user = await signup();
      const socket = await socketOf(a.url, user.accessToken);
      const closed = ending(socket);
      await request(a.url).post('/auth/logout').set('Authorization', bearer(user.accessToken)).expect(204);
      expect(await closed).toEqual({ ended: { code: 'session_revoked' }, reason: 'io server disconnect' });
    });

    it('a logout on instance A closes the socket open on instance B (and B refuses to reopen it)', async () => {
      const user = await signup();
      const onB = await socketOf(b.url, user.accessToken);
      const closed = ending(onB);
      await request(a.url).post('/auth/logout').set('Authorization', bearer(user.accessToken)).expect(204);
      expect((await closed).ended).toEqual({ code: 'session_revoked' });
      expect((await refused(connect(a.url, { auth: { token: user.accessToken } }))).data).toEqual({ code: 'session_revoked' });
    });

    it('logout-all closes the sockets of every session of the user, on both instances', async () => {
      const user = await signup();
      const other = (await bearerLogin(a.url, user.email, PASSWORD).expect(200)).body as BearerLogin;
      const open = await Promise.all([socketOf(a.url, user.accessToken), socketOf(b.url, user.accessToken), socketOf(b.url, other.accessToken)]);
      const endings = open.map(ending);
      await request(a.url).post('/auth/logout-all').set('Authorization', bearer(user.accessToken)).send({}).expect(204);
      for (const closed of await Promise.all(endings)) expect(closed.ended).toEqual({ code: 'session_revoked' });
    });

    it('an admin revoking a user’s sessions closes their sockets', async () => {
      const admin = (await bearerSignupAs(adminEmail)) as BearerLogin;
      expect(admin.user.roles).toContain('admin');
      const user = await signup();
      const closed = ending(await socketOf(b.url, user.accessToken));
      await request(a.url).delete(`/api/admin/users/${user.user.id}/sessions`).set('Authorization', bearer(admin.accessToken)).expect(204);
      expect((await closed).ended).toEqual({ code: 'session_revoked' });
    });

    it('reuse detection (a rotated refresh token replayed after the grace window) closes the socket', async () => {
      const user = await signup();
      const rotated = (await bearerRefresh(a.url, user.refreshToken).expect(200)).body as BearerLogin;
      const closed = ending(await socketOf(b.url, rotated.accessToken));
      advance(11_000); // past REFRESH_REUSE_GRACE (10 s)
      const replay = await bearerRefresh(a.url, user.refreshToken).expect(401);
      expect(replay.body.code).toBe('refresh_token_reused');
      expect((await closed).ended).toEqual({ code: 'session_revoked' });
    });

    it('a password change closes the other sessions’ sockets, and this session’s (reissued under a new id)', async () => {
      const user = await signup();
      const other = (await bearerLogin(a.url, user.email, PASSWORD).expect(200)).body as BearerLogin;
      const endings = (await Promise.all([socketOf(a.url, user.accessToken), socketOf(b.url, other.accessToken)])).map(ending);
      const changed = await request(a.url)
        .post('/api/me/password')
        .set('Authorization', bearer(user.accessToken))
        .send({ currentPassword: PASSWORD, newPassword: 'another horse battery' })
        .expect(200);
      for (const closed of await Promise.all(endings)) expect(closed.ended).toEqual({ code: 'session_revoked' });
      // The client reconnects with the tokens the change answered with.
      expect((await me(await socketOf(b.url, changed.body.accessToken))).sessionId).toBe(changed.body.session.id);
    });

    it('revoking one of the user’s sessions (DELETE /auth/sessions/:id) closes only that session’s sockets', async () => {
      const user = await signup();
      const other = (await bearerLogin(a.url, user.email, PASSWORD).expect(200)).body as BearerLogin;
      const kept = await socketOf(a.url, user.accessToken);
      const closed = ending(await socketOf(b.url, other.accessToken));
      await request(a.url).delete(`/auth/sessions/${other.session.id}`).set('Authorization', bearer(user.accessToken)).expect(204);
      expect((await closed).ended).toEqual({ code: 'session_revoked' });
      expect((await me(kept)).sessionId).toBe(user.session.id);
    });
  });

  describe('access-token expiry', () => {
    it('closes the socket at its token’s exp with token_expired', async () => {
      const user = await signup();
      const socket = await socketOf(a.url, user.accessToken);
      const closed = ending(socket);
      advance(9 * 60_000);
      expect((await me(socket)).sessionId).toBe(user.session.id); // not yet
      advance(60_000 + 1); // ACCESS_TOKEN_TTL is 10 minutes
      expect(await closed).toEqual({ ended: { code: 'token_expired' }, reason: 'io server disconnect' });
    });

    it('stays open past exp after re-authenticating with a fresh token of the same session; refuses one of another session', async () => {
      const user = await signup();
      const socket = await socketOf(a.url, user.accessToken);
      advance(9 * 60_000);
      const fresh = (await bearerRefresh(a.url, user.refreshToken).expect(200)).body as BearerLogin;
      expect(await within(socket.emitWithAck('session.reauthenticate', { token: fresh.accessToken }), 'the reauthentication')).toEqual({
        ok: true,
        expiresAt: expect.any(String),
      });
      // Another session of the same user: refused, and the socket keeps its own.
      const other = (await bearerLogin(a.url, user.email, PASSWORD).expect(200)).body as BearerLogin;
      expect(await within(socket.emitWithAck('session.reauthenticate', { token: other.accessToken }), 'the refusal')).toEqual({
        ok: false,
        status: 'error',
        code: 'token_invalid',
        message: 'Access token is invalid',
      });
      const invalid = await within(socket.emitWithAck('session.reauthenticate', { token: 'nope' }), 'the refusal');
      expect(invalid).toMatchObject({ ok: false, code: 'token_invalid' });
      const closed = ending(socket);
      advance(2 * 60_000); // past the first token's exp
      expect((await me(socket)).sessionId).toBe(user.session.id);
      advance(9 * 60_000); // past the fresh token's exp
      expect((await closed).ended).toEqual({ code: 'token_expired' });
    });
  });

  describe('guards and decorators on message handlers', () => {
    it('@Roles() refuses a user without the role with an exception event carrying the code; an admin passes', async () => {
      const user = await signup();
      const socket = await socketOf(a.url, user.accessToken);
      const exception = next<Record<string, unknown>>(socket, 'exception');
      socket.emit('admin.ping');
      expect(await exception).toEqual({
        status: 'error',
        code: 'forbidden',
        statusCode: 403,
        message: 'Insufficient role',
        cause: { pattern: 'admin.ping' },
      });
      const admin = await socketOf(a.url, (await bearerSignupAs(adminEmail)).accessToken);
      expect(await within(admin.emitWithAck('admin.ping'), 'the pong')).toEqual({ pong: true });
    });
  });

  describe('session events pushed to the user’s sockets', () => {
    it('session.created and session.revoked reach all the user’s sockets on every instance, and no other user’s', async () => {
      const user = await signup();
      const bystander = await signup(a, 'ws-bystander');
      const onA = await socketOf(a.url, user.accessToken);
      const onB = await socketOf(b.url, user.accessToken);
      const theirs = await socketOf(b.url, bystander.accessToken);
      const seenByBystander: string[] = [];
      theirs.onAny((event: string) => seenByBystander.push(event));

      const createdA = next<{ at: string }>(onA, 'session.created');
      const createdB = next<{ at: string }>(onB, 'session.created');
      const other = (await bearerLogin(a.url, user.email, PASSWORD).expect(200)).body as BearerLogin;
      expect(await createdA).toEqual({ at: expect.any(String) });
      expect(await createdB).toEqual({ at: expect.any(String) });

      const revokedB = next<{ at: string; reason: string }>(onB, 'session.revoked');
      await request(b.url).post('/auth/logout').set('Authorization', bearer(other.accessToken)).expect(204);
      expect(await revokedB).toEqual({ at: expect.any(String), reason: 'logout' });

      // Events travel in order on one channel: once the bystander's own arrives, any of the
      // user's would have arrived before it.
      const own = next(theirs, 'session.created');
      await bearerLogin(a.url, bystander.email, PASSWORD).expect(200);
      await own;
      expect(seenByBystander).toEqual(['session.created']);
    });
  });

  it('forgets every socket once closed (no tracking left behind)', async () => {
    const user = await signup();
    const tracked = a.app.get(SessionSockets);
    const drained = async () => {
      const deadline = Date.now() + WAIT_MS;
      while (tracked.socketCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      return { sockets: tracked.socketCount, sessions: tracked.sessionCount };
    };
    // Earlier tests' sockets were all closed by the client (afterEach): none may be left.
    expect(await drained()).toEqual({ sockets: 0, sessions: 0 });
    const many = await Promise.all(Array.from({ length: 40 }, () => socketOf(a.url, user.accessToken)));
    expect({ sockets: tracked.socketCount, sessions: tracked.sessionCount }).toEqual({ sockets: 40, sessions: 1 });
    for (const socket of many) socket.disconnect();
    expect(await drained()).toEqual({ sockets: 0, sessions: 0 });
  });

  /** Registers (once) and logs in `email` in bearer mode. */
  async function bearerSignupAs(email: string): Promise<BearerLogin> {
    await request(a.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD });
    const login = await bearerLogin(a.url, email, PASSWORD).expect(200);
    return { email, ...login.body };
  }
});
