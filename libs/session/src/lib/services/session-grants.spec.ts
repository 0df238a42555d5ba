import { Controller, Get } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import { FakeClock } from '../../testing';
import { CurrentUser } from '../decorators/current-user.decorator';
import { SessionGuard } from '../guards/session.guard';
import type { AuthenticatedUser } from '../interfaces/authenticated.interface';
import type { RevocationMode, SessionModuleOptions } from '../interfaces/session-module-options.interface';
import type { SessionUser } from '../interfaces/session.interface';
import type { RevocationFeedListener, RevocationFeedSubscription } from '../interfaces/session-store.interface';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { SessionClaimsError } from '../utils/claims.util';
import { AccessTokenService } from './access-token.service';
import { SessionEvents } from './session-events.service';
import type { SessionEvent } from './session-events.service';
import { SessionService } from './session.service';
import { START, startSessionApp } from '../../../test/support/session-module';

const MINUTE = 60_000;

/** `GET /whoami`: the user as `@CurrentUser()` gives it. */
@Controller()
class WhoAmIController {
  @Get('whoami')
  whoami(@CurrentUser() user: AuthenticatedUser) {
    return user;
  }
}

/** The app's user table, as a `resolveUser` hook reads it. */
class UserTable {
  readonly rows = new Map<string, SessionUser & { tenant?: string }>();
  lookups = 0;

  resolve = async (id: string) => {
    this.lookups += 1;
    const row = this.rows.get(id);
    return row ? structuredClone(row) : null;
  };
}

/**
 * Current roles and claims: what `resolveUser`, `claims` and `refreshUser` change in
 * tokens, session records and requests, on two app instances sharing one store (its
 * change feed is in-process, as a database's is between processes).
 */
describe('session grants: resolveUser, claims and refreshUser', () => {
  let store: InMemorySessionStore;
  let clock: FakeClock;
  let users: UserTable;
  const apps: INestApplication[] = [];

  async function instance(
    revocationMode: RevocationMode,
    options: Partial<Omit<SessionModuleOptions, 'clock'>> = {},
  ): Promise<INestApplication> {
    const { app } = await startSessionApp(
      {
        jwtSecret: 'grants-spec-jwt-secret-0123456789abcdefgh',
        sessionSecret: 'grants-spec-session-secret-0123456789abc',
        store,
        clock,
        revocationMode,
        resolveUser: users.resolve,
        claims: (user) => ({ tenant: (user as { tenant?: string }).tenant ?? null, plan: 'pro' }),
        ...options,
      },
      { controllers: [WhoAmIController], providers: [{ provide: APP_GUARD, useExisting: SessionGuard }] },
    );
    apps.push(app);
    return app;
  }

  const whoami = (app: INestApplication, token: string) =>
    request(app.getHttpServer()).get('/whoami').set('authorization', `Bearer ${token}`);

  function events(app: INestApplication): SessionEvent[] {
    const seen: SessionEvent[] = [];
    app.get(SessionEvents).subscribe((event) => void seen.push(event));
    return seen;
  }

  beforeEach(() => {
    store = new InMemorySessionStore();
    clock = new FakeClock(START);
    users = new UserTable();
    users.rows.set('ada', { id: 'ada', roles: ['user', 'admin'], tenant: 't-1', profile: { email: 'ada@example.com' } });
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  describe('custom claims', () => {
    it('go into the access token as top-level claims, onto @CurrentUser(), and into the session record', async () => {
      const app = await instance('cached');
      const issued = await app.get(SessionService).create({ id: 'ada', roles: ['user'], tenant: 't-1' } as SessionUser);
      const payload = JSON.parse(Buffer.from(issued.accessToken.split('.')[1], 'base64url').toString());
      expect(payload).toMatchObject({ sub: 'ada', roles: ['user'], tenant: 't-1', plan: 'pro' });
      expect((await store.findById(issued.session.id))?.claims).toEqual({ tenant: 't-1', plan: 'pro' });
      const response = await whoami(app, issued.accessToken).expect(200);
      expect(response.body).toEqual({ id: 'ada', roles: ['user'], claims: { tenant: 't-1', plan: 'pro' } });
      // Frozen: the same object serves every request with this token.
      const claims = app.get(AccessTokenService).customClaims(app.get(AccessTokenService).verify(issued.accessToken));
      expect(Object.isFrozen(claims)).toBe(true);
    });

    it('survive a refresh without a resolveUser hook (taken from the session record)', async () => {
      const app = await instance('cached', { resolveUser: undefined });
      const sessions = app.get(SessionService);
      const issued = await sessions.create({ id: 'ada', roles: ['user'], tenant: 't-9' } as SessionUser);
      const refreshed = await sessions.refresh(issued.refreshToken);
      const response = await whoami(app, refreshed.accessToken).expect(200);
      expect(response.body.claims).toEqual({ tenant: 't-9', plan: 'pro' });
      expect(refreshed.user).toEqual({ id: 'ada', roles: ['user'] });
    });

    it.each([
      ['a reserved name', () => ({ sub: 'someone-else' }), /"sub"/],
      ['a roles claim', () => ({ roles: ['admin'] }), /"roles"/],
      ['more than 1 kB', () => ({ blob: 'x'.repeat(1_100) }), /at most 1024/],
      ['a value that is not JSON', () => ({ at: new Date(0) }), /"at"/],
    ])('refuses %s at login: nothing is stored', async (_case, claims, message) => {
      const app = await instance('cached', { claims: claims as SessionModuleOptions['claims'] });
      await expect(app.get(SessionService).create({ id: 'ada', roles: ['user'] })).rejects.toThrow(SessionClaimsError);
      await expect(app.get(SessionService).create({ id: 'ada', roles: ['user'] })).rejects.toThrow(message);
      expect(await store.listByUser('ada', clock.now())).toEqual([]);
    });
  });

  describe('resolveUser at each refresh', () => {
    it('puts the current roles, claims and profile into the new token and the session record', async () => {
      const app = await instance('cached');
      const sessions = app.get(SessionService);
      const issued = await sessions.create({ id: 'ada', roles: ['user', 'admin'], tenant: 't-1' } as SessionUser);
      users.rows.set('ada', { id: 'ada', roles: ['user'], tenant: 't-2', profile: { email: 'ada@example.com' } });
      const refreshed = await sessions.refresh(issued.refreshToken);
      expect(refreshed.user).toEqual({ id: 'ada', roles: ['user'], profile: { email: 'ada@example.com' } });
      expect((await whoami(app, refreshed.accessToken).expect(200)).body).toEqual({
        id: 'ada',
        roles: ['user'],
        claims: { tenant: 't-2', plan: 'pro' },
      });
      const record = await store.findById(issued.session.id);
      expect(record).toMatchObject({ roles: ['user'], claims: { tenant: 't-2', plan: 'pro' } });
    });

    it('writes to the store only when something changed', async () => {
      const app = await instance('cached');
      const sessions = app.get(SessionService);
      const update = jest.spyOn(store, 'updateUserSessions');
      let issued = await sessions.create({ id: 'ada', roles: ['user', 'admin'], tenant: 't-1' } as SessionUser);
      for (let i = 0; i < 3; i++) issued = await sessions.refresh(issued.refreshToken);
      expect(update).not.toHaveBeenCalled();
      users.rows.get('ada')!.roles = ['user'];
      issued = await sessions.refresh(issued.refreshToken);
      await sessions.refresh(issued.refreshToken);
      expect(update).toHaveBeenCalledTimes(1);
      expect(users.lookups).toBe(5);
    });

    it.each([
      ['gone', () => users.rows.delete('ada')],
      ['disabled', () => (users.rows.get('ada')!.disabled = true)],
    ])('ends the session of a user who is %s: session_revoked, reason user_disabled', async (_case, change) => {
      const app = await instance('cached');
      const seen = events(app);
      const sessions = app.get(SessionService);
      const issued = await sessions.create({ id: 'ada', roles: ['user'] });
      change();
      await expect(sessions.refresh(issued.refreshToken)).rejects.toMatchObject({ code: 'session_revoked' });
      expect(await store.findById(issued.session.id)).toMatchObject({ revokedReason: 'user_disabled' });
      expect(seen.map((event) => [event.type, event.reason])).toContainEqual(['session.revoked', 'user_disabled']);
      // Cached mode honours it at once, like any revocation.
      await whoami(app, issued.accessToken).expect(401);
      // And the token just replaced no longer works either.
      await expect(sessions.refresh(issued.refreshToken)).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    });

    it('asks again on a retry within the grace window (the same successor, the current roles)', async () => {
      const app = await instance('cached');
      const sessions = app.get(SessionService);
      const issued = await sessions.create({ id: 'ada', roles: ['user', 'admin'] });
      const first = await sessions.refresh(issued.refreshToken);
      users.rows.get('ada')!.roles = ['user'];
      const retry = await sessions.refresh(issued.refreshToken);
      expect(retry.refreshToken).toBe(first.refreshToken);
      expect(retry.user.roles).toEqual(['user']);
    });
  });

  describe('refreshUser', () => {
    it('strict mode: every live session has the new roles at its next request, on every instance', async () => {
      const a = await instance('strict');
      const b = await instance('strict');
      const first = await a.get(SessionService).create({ id: 'ada', roles: ['user', 'admin'] });
      const second = await b.get(SessionService).create({ id: 'ada', roles: ['user', 'admin'] });
      users.rows.get('ada')!.roles = ['user'];
      expect(await a.get(SessionService).refreshUser('ada')).toEqual({ sessions: 2, revoked: 0 });
      for (const [app, issued] of [[a, first], [b, second], [b, first]] as const) {
        expect((await whoami(app, issued.accessToken).expect(200)).body.roles).toEqual(['user']);
      }
    });

    it('cached mode: the old token keeps its roles until it is refreshed, and the refresh has the new ones', async () => {
      const a = await instance('cached');
      const b = await instance('cached');
      const issued = await a.get(SessionService).create({ id: 'ada', roles: ['user', 'admin'] });
      users.rows.get('ada')!.roles = ['user'];
      await b.get(SessionService).refreshUser('ada');
      expect((await whoami(a, issued.accessToken).expect(200)).body.roles).toEqual(['user', 'admin']);
      const refreshed = await a.get(SessionService).refresh(issued.refreshToken);
      expect((await whoami(a, refreshed.accessToken).expect(200)).body.roles).toEqual(['user']);
      // Not beyond the access-token lifetime: the old token is refused once it expires.
      clock.advance(11 * MINUTE);
      await whoami(a, issued.accessToken).expect(401);
    });

    it('revokes every session of a user who is gone, in every mode at once', async () => {
      const a = await instance('cached');
      const b = await instance('cached');
      const issued = await a.get(SessionService).create({ id: 'ada', roles: ['user'] });
      users.rows.delete('ada');
      expect(await b.get(SessionService).refreshUser('ada')).toEqual({ sessions: 0, revoked: 1 });
      await waitFor(async () => (await whoami(a, issued.accessToken)).status === 401);
      expect(await store.findById(issued.session.id)).toMatchObject({ revokedReason: 'user_disabled' });
    });

    it('takes the user as an argument when the app has no resolveUser hook, and says so when it has neither', async () => {
      const app = await instance('strict', { resolveUser: undefined });
      const sessions = app.get(SessionService);
      const issued = await sessions.create({ id: 'ada', roles: ['user', 'admin'] });
      await expect(sessions.refreshUser('ada')).rejects.toThrow(/resolveUser/);
      expect(await sessions.refreshUser('ada', { id: 'ada', roles: ['user'] })).toEqual({ sessions: 1, revoked: 0 });
      expect((await whoami(app, issued.accessToken).expect(200)).body.roles).toEqual(['user']);
      // And the record's roles carry on through refreshes.
      const refreshed = await sessions.refresh(issued.refreshToken);
      expect(refreshed.user.roles).toEqual(['user']);
    });

    it('emits user.refreshed for the audit trail', async () => {
      const app = await instance('stateless');
      const seen = events(app);
      await app.get(SessionService).refreshUser('ada');
      expect(seen).toContainEqual(expect.objectContaining({ type: 'user.refreshed', userId: 'ada', sessionFingerprint: null }));
    });
  });

  describe('userCache', () => {
    it('reuses an answer within its ttl, and drops it on every instance when refreshUser runs anywhere', async () => {
      const a = await instance('stateless', { userCache: { ttl: '5m' } });
      const b = await instance('stateless', { userCache: { ttl: '5m' } });
      const sessions = a.get(SessionService);
      let issued = await sessions.create({ id: 'ada', roles: ['user', 'admin'], tenant: 't-1' } as SessionUser);
      issued = await sessions.refresh(issued.refreshToken);
      issued = await sessions.refresh(issued.refreshToken);
      expect(users.lookups).toBe(1);
      // A change the session record cannot show (the profile): only the announcement tells instance a.
      users.rows.get('ada')!.profile = { email: 'ada@new.example' };
      await b.get(SessionService).refreshUser('ada');
      await waitFor(async () => {
        issued = await sessions.refresh(issued.refreshToken);
        return issued.user.profile?.email === 'ada@new.example';
      });
      // Past the ttl it asks again even without an announcement.
      const before = users.lookups;
      issued = await sessions.refresh(issued.refreshToken);
      expect(users.lookups).toBe(before);
      clock.advance(6 * MINUTE);
      await sessions.refresh(issued.refreshToken);
      expect(users.lookups).toBe(before + 1);
    });

    it('does not write a remembered answer back over a change made elsewhere: it asks again first', async () => {
      const quiet = new QuietStore();
      store = quiet;
      const a = await instance('strict', { userCache: { ttl: '5m' } });
      const sessions = a.get(SessionService);
      let issued = await sessions.create({ id: 'ada', roles: ['user', 'admin'], tenant: 't-1' } as SessionUser);
      issued = await sessions.refresh(issued.refreshToken);
      // A change that reached the store without reaching this instance's cache (the announcement is still on its way).
      users.rows.get('ada')!.roles = ['user'];
      quiet.quiet = true;
      await store.updateUserSessions('ada', { roles: ['user'], claims: { tenant: 't-1', plan: 'pro' } }, clock.now());
      const update = jest.spyOn(store, 'updateUserSessions');
      const lookups = users.lookups;
      issued = await sessions.refresh(issued.refreshToken);
      expect(issued.user.roles).toEqual(['user']);
      expect(update).not.toHaveBeenCalled();
      expect(users.lookups).toBe(lookups + 1);
    });
  });
});

/** An in-memory store whose user-change announcements can be held back, as a slow feed would. */
class QuietStore extends InMemorySessionStore {
  quiet = false;

  override watchRevocations(listener: RevocationFeedListener): Promise<RevocationFeedSubscription> {
    return super.watchRevocations({
      revoked: (ids) => listener.revoked(ids),
      resync: () => listener.resync(),
      userChanged: (ids) => {
        if (!this.quiet) listener.userChanged(ids);
      },
    });
  }
}

/** Polls `check` until it holds (the feed delivers after the current operation). */
async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
