import { UseFilters } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { OnGatewayInit } from '@nestjs/websockets';
import type { Namespace } from 'socket.io';
import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import { FakeClock } from '../../testing';
import { START, compileSessionModule } from '../../../test/support/session-module';
import { CurrentSession } from '../decorators/current-session.decorator';
import { CurrentUser } from '../decorators/current-user.decorator';
import { RequireFreshSession } from '../decorators/require-fresh-session.decorator';
import { Roles } from '../decorators/roles.decorator';
import { SessionWsExceptionFilter } from '../filters/session-ws-exception.filter';
import { SessionGuard } from '../guards/session.guard';
import type { AuthenticatedUser } from '../interfaces/authenticated.interface';
import type { RevocationMode } from '../interfaces/session-module-options.interface';
import type { RevocationFeedListener, RevocationFeedSubscription } from '../interfaces/session-store.interface';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { SessionService } from './session.service';
import { SessionSockets } from './session-sockets.service';

const WAIT_MS = 5_000;
const MINUTE = 60_000;

/** The smallest gateway: sessions attached in afterInit, the global SessionGuard on its messages. */
@WebSocketGateway({ namespace: '/rt' })
@UseFilters(SessionWsExceptionFilter)
class TinyGateway implements OnGatewayInit<Namespace> {
  constructor(private readonly sockets: SessionSockets) {}

  afterInit(server: Namespace): void {
    this.sockets.attach(server);
  }

  @SubscribeMessage('whoami')
  whoami(@CurrentUser('id') userId: string, @CurrentSession('id') sessionId: string, @CurrentUser() user: AuthenticatedUser) {
    return { userId, sessionId, roles: user.roles };
  }

  @Roles('admin')
  @SubscribeMessage('admin')
  admin() {
    return 'ok';
  }

  @RequireFreshSession('1m')
  @SubscribeMessage('sensitive')
  sensitive() {
    return 'fresh';
  }
}

/** An in-memory store whose feed a test can cut (announcements are lost) and reconnect (resync). */
class CuttableFeedStore extends InMemorySessionStore {
  private listener: RevocationFeedListener | undefined;
  down = false;

  override watchRevocations(listener: RevocationFeedListener): Promise<RevocationFeedSubscription> {
    this.listener = listener;
    return super.watchRevocations({
      revoked: (ids) => {
        if (!this.down) listener.revoked(ids);
      },
      resync: () => listener.resync(),
      userChanged: (ids) => listener.userChanged(ids),
    });
  }

  /** The feed is back: as a real one does on reconnecting, it asks for a resync. */
  reconnect(): void {
    this.down = false;
    this.listener?.resync();
  }
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

describe.each(['express', 'fastify'] as const)('SessionSockets on socket.io (%s adapter, in-memory store)', (platform) => {
  let app: INestApplication;
  let url: string;
  let clock: FakeClock;
  let store: CuttableFeedStore;
  const clients: Socket[] = [];

  async function start(revocationMode: RevocationMode): Promise<void> {
    store = new CuttableFeedStore();
    ({ clock } = await compileSessionModule(
      {
        jwtSecret: 'sockets-spec-jwt-secret-0123456789abcdef',
        sessionSecret: 'sockets-spec-session-secret-0123456789ab',
        store,
        clock: new FakeClock(START),
        revocationMode,
        csrf: { allowedOrigins: ['https://app.example'] },
      },
      { providers: [TinyGateway, { provide: APP_GUARD, useExisting: SessionGuard }] },
    ).then(async ({ moduleRef, clock: made }) => {
      app = platform === 'fastify' ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false }) : moduleRef.createNestApplication({ logger: false });
      await app.listen(0, '127.0.0.1');
      url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      return { clock: made };
    }));
  }

  afterEach(async () => {
    for (const client of clients.splice(0)) client.disconnect();
    await app?.close();
  });

  const login = (userId = 'u1', roles?: string[]) => app.get(SessionService).create({ id: userId, ...(roles ? { roles } : {}) });

  function connect(options: Parameters<typeof io>[1] = {}): Socket {
    const client = io(`${url}/rt`, { transports: ['websocket'], reconnection: false, forceNew: true, ...options });
    clients.push(client);
    return client;
  }

  const connected = (client: Socket) =>
    within(
      new Promise<Socket>((resolve, reject) => {
        client.once('connect', () => resolve(client));
        client.once('connect_error', (error) => reject(new Error(JSON.stringify((error as { data?: unknown }).data))));
      }),
      'connect',
    );

  const refusalCode = (client: Socket) =>
    within(
      new Promise<unknown>((resolve, reject) => {
        client.once('connect', () => reject(new Error('admitted')));
        client.once('connect_error', (error) => resolve((error as { data?: { code?: unknown } }).data?.code));
      }),
      'connect_error',
    );

  const endOf = (client: Socket) => {
    let code: unknown;
    client.once('session.ended', (payload: { code: unknown }) => (code = payload.code));
    return within(new Promise<unknown>((resolve) => client.once('disconnect', () => resolve(code))), 'the close');
  };

  it('admits auth.token and the access cookie (allowed origin); refuses the query string, a foreign origin, nothing', async () => {
    await start('cached');
    const { accessToken, session } = await login();
    const socket = await connected(connect({ auth: { token: accessToken } }));
    expect(await within(socket.emitWithAck('whoami'), 'whoami')).toEqual({ userId: 'u1', sessionId: session.id, roles: [] });
    const cookie = `__Host-tessera-at=${accessToken}`;
    await connected(connect({ extraHeaders: { cookie, origin: 'https://app.example' } }));
    expect(await refusalCode(connect({ extraHeaders: { cookie, origin: 'https://evil.example' } }))).toBe('csrf_failed');
    expect(await refusalCode(connect({ extraHeaders: { cookie: `${cookie}; ${cookie}` } }))).toBe('cookie_conflict');
    expect(await refusalCode(connect({ query: { token: accessToken } }))).toBe('token_missing');
    expect(await refusalCode(connect())).toBe('token_missing');
  });

  it('refuses a message the handler’s @Roles() forbid, with the code, through the global guard', async () => {
    await start('cached');
    const socket = await connected(connect({ auth: { token: (await login()).accessToken } }));
    const exception = within(new Promise((resolve) => socket.once('exception', resolve)), 'exception');
    socket.emit('admin');
    expect(await exception).toMatchObject({ status: 'error', code: 'forbidden', cause: { pattern: 'admin' } });
    const admin = await connected(connect({ auth: { token: (await login('u2', ['admin'])).accessToken } }));
    expect(await within(admin.emitWithAck('admin'), 'admin')).toBe('ok');
  });

  it('refuses a message of a @RequireFreshSession() handler once the handshake’s authentication is too old, until a step-up token re-authenticates the socket', async () => {
    await start('cached');
    const first = await login();
    const socket = await connected(connect({ auth: { token: first.accessToken } }));
    expect(await within(socket.emitWithAck('sensitive'), 'sensitive')).toBe('fresh');
    clock.advance(61_000);
    const exception = within(new Promise((resolve) => socket.once('exception', resolve)), 'exception');
    socket.emit('sensitive');
    expect(await exception).toMatchObject({ status: 'error', code: 'reauthentication_required', statusCode: 401, cause: { pattern: 'sensitive' } });
    const stepped = await app.get(SessionService).markAuthenticated(first.session.id);
    expect(await within(socket.emitWithAck('session.reauthenticate', { token: stepped.accessToken }), 'reauth')).toMatchObject({ ok: true });
    expect(await within(socket.emitWithAck('sensitive'), 'sensitive')).toBe('fresh');
  });

  it.each(['stateless', 'cached', 'strict'] as const)('%s mode: a revocation closes the session’s sockets (session_revoked)', async (mode) => {
    await start(mode);
    const { accessToken, session } = await login();
    const other = await login();
    const keep = await connected(connect({ auth: { token: other.accessToken } }));
    const closed = endOf(await connected(connect({ auth: { token: accessToken } })));
    await app.get(SessionService).revoke(session.id);
    expect(await closed).toBe('session_revoked');
    expect(keep.connected).toBe(true);
  });

  it.each(['stateless', 'cached'] as const)('%s mode: a revocation missed while the feed was down closes the socket at the resync', async (mode) => {
    await start(mode);
    const { accessToken, session } = await login();
    const socket = await connected(connect({ auth: { token: accessToken } }));
    const closed = endOf(socket);
    store.down = true;
    // Made in the store by another instance, its announcement lost.
    expect(await store.revoke(session.id, 'admin', clock.now())).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await within(socket.emitWithAck('whoami'), 'whoami')).toMatchObject({ sessionId: session.id });
    store.reconnect();
    expect(await closed).toBe('session_revoked');
  });

  it('closes at the token’s expiry (token_expired) unless re-authenticated with a fresh token of the same session', async () => {
    await start('cached');
    const first = await login();
    const socket = await connected(connect({ auth: { token: first.accessToken } }));
    clock.advance(9 * MINUTE);
    const fresh = await app.get(SessionService).refresh(first.refreshToken);
    expect(await within(socket.emitWithAck('session.reauthenticate', { token: fresh.accessToken }), 'reauth')).toMatchObject({ ok: true });
    const stranger = await login('u1');
    expect(await within(socket.emitWithAck('session.reauthenticate', { token: stranger.accessToken }), 'reauth')).toMatchObject({
      ok: false,
      code: 'token_invalid',
    });
    const closed = endOf(socket);
    clock.advance(2 * MINUTE);
    expect(await within(socket.emitWithAck('whoami'), 'whoami')).toMatchObject({ sessionId: first.session.id });
    clock.advance(9 * MINUTE);
    expect(await closed).toBe('token_expired');
  });

  it('keeps nothing of closed sockets, nor after shutdown', async () => {
    await start('stateless');
    const sockets = app.get(SessionSockets);
    const { accessToken } = await login();
    const opened = await Promise.all(Array.from({ length: 50 }, () => connected(connect({ auth: { token: accessToken } }))));
    expect([sockets.socketCount, sockets.sessionCount]).toEqual([50, 1]);
    for (const client of opened) client.disconnect();
    const deadline = Date.now() + WAIT_MS;
    while (sockets.socketCount > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect([sockets.socketCount, sockets.sessionCount]).toEqual([0, 0]);
    await connected(connect({ auth: { token: accessToken } }));
    expect(sockets.socketCount).toBe(1);
    await app.close();
    expect([sockets.socketCount, sockets.sessionCount]).toEqual([0, 0]);
  });
});
