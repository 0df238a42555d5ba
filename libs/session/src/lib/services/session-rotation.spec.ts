import type { TestingModule } from '@nestjs/testing';
import { FakeClock } from '../../testing';
import { SessionStore } from '../interfaces/session-store.interface';
import { AccessTokenService } from './access-token.service';
import { SessionEvents } from './session-events.service';
import type { SessionEvent } from './session-events.service';
import { SessionService } from './session.service';
import { failureCode } from '../../../test/support/failure-code';
import { START, compileSessionModule } from '../../../test/support/session-module';
import type { TestSessionOptions } from '../../../test/support/session-module';

const jwtSecret = 'rotation-spec-jwt-secret-0123456789abcdef';
const sessionSecret = 'rotation-spec-session-secret-0123456789ab';
const SECOND = 1_000;
const MINUTE = 60_000;
const DAY = 86_400_000;

describe('SessionService: rotation, reuse detection, limits, re-issue (in-memory store)', () => {
  let moduleRef: TestingModule;
  let clock: FakeClock;
  let sessions: SessionService;
  let store: SessionStore;
  let tokens: AccessTokenService;
  let events: SessionEvent[];

  async function boot(extra: Partial<TestSessionOptions> = {}): Promise<void> {
    ({ moduleRef, clock } = await compileSessionModule({ jwtSecret, sessionSecret, ...extra }));
    sessions = moduleRef.get(SessionService);
    store = moduleRef.get<SessionStore>(SessionStore);
    tokens = moduleRef.get(AccessTokenService);
    events = [];
    moduleRef.get(SessionEvents).subscribe((event) => {
      events.push(event);
    });
  }

  beforeEach(() => boot());
  afterEach(() => moduleRef.close());

  describe('grace window (concurrent refreshes)', () => {
    it('gives a repeated refresh within the window the same successor, without a second rotation', async () => {
      const login = await sessions.create({ id: 'u1' });
      const first = await sessions.refresh(login.refreshToken);
      clock.advance(9 * SECOND);
      const again = await sessions.refresh(login.refreshToken);
      expect(again.refreshToken).toBe(first.refreshToken);
      expect(again.session.generation).toBe(1);
      expect((await store.findById(login.session.id))?.generation).toBe(1);
      // Whichever response the client keeps, its token still works after the window.
      clock.advance(MINUTE);
      const next = await sessions.refresh(again.refreshToken);
      expect(next.session.generation).toBe(2);
    });

    it('lets 10 parallel refreshes with one token all succeed with one chain', async () => {
      const login = await sessions.create({ id: 'u1' });
      const results = await Promise.all(Array.from({ length: 10 }, () => sessions.refresh(login.refreshToken)));
      expect(new Set(results.map((result) => result.refreshToken)).size).toBe(1);
      expect((await store.findById(login.session.id))?.generation).toBe(1);
      expect(events.filter((event) => event.type === 'refresh_token.reused')).toEqual([]);
      clock.advance(MINUTE);
      await sessions.refresh(results[9].refreshToken);
    });

    it('honours a configured window', async () => {
      await moduleRef.close();
      await boot({ refreshReuseGrace: '2s' });
      const login = await sessions.create({ id: 'u1' });
      await sessions.refresh(login.refreshToken);
      clock.advance(3 * SECOND);
      expect(await failureCode(sessions.refresh(login.refreshToken))).toBe('refresh_token_reused');
    });
  });

  describe('reuse detection', () => {
    it('revokes the whole session when a replaced token comes back after the window', async () => {
      const login = await sessions.create({ id: 'u1' }, { ip: '203.0.113.9', userAgent: 'jest' });
      const current = await sessions.refresh(login.refreshToken);
      clock.advance(10 * SECOND + 1);
      expect(await failureCode(sessions.refresh(login.refreshToken))).toBe('refresh_token_reused');

      const stored = await store.findById(login.session.id);
      expect(stored?.revokedReason).toBe('refresh_token_reused');
      // The thief's and the owner's current tokens are both dead now.
      expect(await failureCode(sessions.refresh(current.refreshToken))).toBe('invalid_refresh_token');
      const claims = tokens.verify(current.accessToken);
      expect(await failureCode(sessions.assertLive(claims))).toBe('session_revoked');

      const reused = events.filter((event) => event.type === 'refresh_token.reused');
      expect(reused).toHaveLength(1);
      expect(reused[0]).toMatchObject({ userId: 'u1', reason: 'refresh_token_reused' });
      expect(JSON.stringify(events)).not.toContain(login.session.id);
      expect(JSON.stringify(events)).not.toContain(login.refreshToken);
    });

    it('recognises any earlier token of the chain, even within the window of the last rotation', async () => {
      const login = await sessions.create({ id: 'u1' });
      const second = await sessions.refresh(login.refreshToken);
      clock.advance(MINUTE);
      const third = await sessions.refresh(second.refreshToken);
      clock.advance(MINUTE);
      await sessions.refresh(third.refreshToken);
      clock.advance(SECOND);
      expect(await failureCode(sessions.refresh(login.refreshToken))).toBe('refresh_token_reused');
      expect((await store.findById(login.session.id))?.revokedReason).toBe('refresh_token_reused');
    });

    it('does not revoke for a forged token of the right session (it is merely invalid)', async () => {
      const login = await sessions.create({ id: 'u1' });
      await sessions.refresh(login.refreshToken);
      const [, , seed] = login.refreshToken.split('.');
      const forgeries = [
        `${login.session.id}.0.${'A'.repeat(43)}.${'A'.repeat(43)}`,
        `${login.session.id}.1.${'B'.repeat(43)}.${'B'.repeat(43)}`,
        `${login.session.id}.7.${'C'.repeat(43)}.${'C'.repeat(43)}`,
        `${login.session.id}.0.${seed}.${'D'.repeat(43)}`, // the real seed, a made-up mac
      ];
      for (const forged of forgeries) {
        expect(await failureCode(sessions.refresh(forged))).toBe('invalid_refresh_token');
      }
      expect((await store.findById(login.session.id))?.revokedAt).toBeNull();
    });

    it('refuses malformed generations without touching the store', async () => {
      const login = await sessions.create({ id: 'u1' });
      const [id, rest] = login.refreshToken.split(/\.0\./); // rest: `<seed>.<mac>`, a mac over generation 0
      const rotate = jest.spyOn(store, 'rotateRefresh');
      const find = jest.spyOn(store, 'findById');
      for (const token of [`${id}.00.${rest}`, `${id}.-0.${rest}`, `${id}.0e0.${rest}`, `${id}..${rest}`]) {
        expect(await failureCode(sessions.refresh(token))).toBe('invalid_refresh_token');
      }
      expect(rotate).not.toHaveBeenCalled();
      expect(find).not.toHaveBeenCalled();
    });
  });

  describe('timeouts', () => {
    it('ends a session idle for longer than idleTimeout', async () => {
      await moduleRef.close();
      await boot({ idleTimeout: '1h', absoluteTimeout: '1d', accessTokenTtl: '10m' });
      const login = await sessions.create({ id: 'u1' });
      clock.advance(59 * MINUTE);
      const refreshed = await sessions.refresh(login.refreshToken);
      clock.advance(59 * MINUTE);
      const again = await sessions.refresh(refreshed.refreshToken);
      clock.advance(60 * MINUTE);
      expect(await failureCode(sessions.refresh(again.refreshToken))).toBe('session_expired');
    });

    it('ends a session at absoluteTimeout however active it is', async () => {
      await moduleRef.close();
      await boot({ idleTimeout: '1h', absoluteTimeout: '3h', accessTokenTtl: '10m' });
      const login = await sessions.create({ id: 'u1' });
      let token = login.refreshToken;
      for (let round = 0; round < 3; round++) {
        clock.advance(50 * MINUTE);
        const result = await sessions.refresh(token);
        token = result.refreshToken;
        expect(result.session.expiresAt.getTime()).toBeLessThanOrEqual(START.getTime() + 3 * 60 * MINUTE);
      }
      clock.set(START.getTime() + 3 * 60 * MINUTE);
      expect(await failureCode(sessions.refresh(token))).toBe('session_expired');
    });
  });

  describe('session limit', () => {
    it('evicts the oldest live session when a login goes beyond maxSessionsPerUser', async () => {
      await moduleRef.close();
      await boot({ maxSessionsPerUser: 3 });
      const logins = [];
      for (let i = 0; i < 4; i++) {
        clock.advance(SECOND);
        logins.push(await sessions.create({ id: 'u1' }));
      }
      const live = await sessions.listForUser('u1');
      expect(live.map((session) => session.id)).toEqual(logins.slice(1).map((login) => login.session.id));
      expect((await store.findById(logins[0].session.id))?.revokedReason).toBe('evicted');
      expect(events.filter((event) => event.type === 'session.evicted')).toHaveLength(1);
      expect(await failureCode(sessions.refresh(logins[0].refreshToken))).toBe('invalid_refresh_token');
      // Another user is not affected.
      await sessions.create({ id: 'u2' });
      expect(await sessions.listForUser('u1')).toHaveLength(3);
    });

    it('has no limit with maxSessionsPerUser 0', async () => {
      await moduleRef.close();
      await boot({ maxSessionsPerUser: 0 });
      for (let i = 0; i < 12; i++) await sessions.create({ id: 'u1' });
      expect(await sessions.listForUser('u1')).toHaveLength(12);
    });

    it('defaults to 10', async () => {
      for (let i = 0; i < 11; i++) await sessions.create({ id: 'u1' });
      expect(await sessions.listForUser('u1')).toHaveLength(10);
    });
  });

  describe('reissue', () => {
    it('moves a live session to a new id and new tokens, keeping its absolute expiry', async () => {
      const login = await sessions.create({ id: 'u1', roles: ['user'] }, { userAgent: 'ua', ip: '198.51.100.1' });
      clock.advance(DAY);
      const reissued = await sessions.reissue(login.session.id);
      expect(reissued.session.id).not.toBe(login.session.id);
      expect(reissued.session).toMatchObject({ userId: 'u1', roles: ['user'], userAgent: 'ua', ip: '198.51.100.1' });
      expect(reissued.session.absoluteExpiresAt).toEqual(login.session.absoluteExpiresAt);
      expect((await store.findById(login.session.id))?.revokedReason).toBe('reissued');
      expect(await failureCode(sessions.refresh(login.refreshToken))).toBe('invalid_refresh_token');
      expect(tokens.verify(reissued.accessToken).sid).toBe(reissued.session.id);
      await sessions.refresh(reissued.refreshToken);
    });

    it('refuses to reissue a revoked or unknown session', async () => {
      const login = await sessions.create({ id: 'u1' });
      await sessions.revoke(login.session.id);
      expect(await failureCode(sessions.reissue(login.session.id))).toBe('session_revoked');
      expect(await failureCode(sessions.reissue('no-such-session'))).toBe('session_revoked');
    });
  });
});
