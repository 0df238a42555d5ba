import type { TestingModule } from '@nestjs/testing';
import { createHmac, randomBytes } from 'node:crypto';
import { FakeClock } from '../../testing';
import { SessionStore } from '../interfaces/session-store.interface';
import { AccessTokenService } from './access-token.service';
import { SessionEvents } from './session-events.service';
import type { SessionEvent } from './session-events.service';
import { SessionService, sessionContextOf } from './session.service';
import { failureCode } from '../../../test/support/failure-code';
import { START, compileSessionModule } from '../../../test/support/session-module';
import type { TestSessionOptions } from '../../../test/support/session-module';

const jwtSecret = 'session-service-spec-jwt-secret-0123456789';
const sessionSecret = 'session-service-spec-session-secret-01234';
const MINUTE = 60_000;
const DAY = 86_400_000;

const at = (ms: number) => new Date(START.getTime() + ms);

describe('SessionService', () => {
  let moduleRef: TestingModule;
  let clock: FakeClock;
  let sessions: SessionService;
  let store: SessionStore;
  let tokens: AccessTokenService;

  async function boot(extra: Partial<TestSessionOptions> = {}): Promise<void> {
    ({ moduleRef, clock } = await compileSessionModule({ jwtSecret, sessionSecret, ...extra }));
    sessions = moduleRef.get(SessionService);
    store = moduleRef.get<SessionStore>(SessionStore);
    tokens = moduleRef.get(AccessTokenService);
  }

  beforeEach(() => boot());

  afterEach(() => moduleRef.close());

  describe('create', () => {
    it('issues a refresh token "<sessionId>.0.<seed>.<mac>" with a 256-bit base64url seed', async () => {
      const issued = await sessions.create({ id: 'user-1', roles: ['user'] });
      const [sessionId, generation, seed, mac, ...rest] = issued.refreshToken.split('.');
      expect(rest).toEqual([]);
      expect(generation).toBe('0');
      expect(sessionId).toBe(issued.session.id);
      expect(sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(seed).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(seed, 'base64url')).toHaveLength(32);
      expect(mac).toBe(
        createHmac('sha256', sessionSecret).update(`tessera.refresh.v2.${sessionId}.0.${seed}`).digest('base64url'),
      );
    });

    it('stores the session with only an HMAC of the refresh token', async () => {
      const issued = await sessions.create({ id: 'user-1', roles: ['user'] }, { userAgent: 'jest', ip: '10.0.0.1' });
      const record = await store.findById(issued.session.id);
      expect(record).toEqual({
        id: issued.session.id,
        userId: 'user-1',
        roles: ['user'],
        claims: {},
        refreshHash: createHmac('sha256', sessionSecret).update(issued.refreshToken).digest('base64url'),
        previousRefreshHash: null,
        generation: 0,
        rotatedAt: null,
        createdAt: START,
        authenticatedAt: START,
        lastSeenAt: START,
        expiresAt: at(7 * DAY),
        absoluteExpiresAt: at(30 * DAY),
        revokedAt: null,
        revokedReason: null,
        userAgent: 'jest',
        ip: '10.0.0.1',
      });
      const [, , seed, mac] = issued.refreshToken.split('.');
      const stored = JSON.stringify(record);
      expect(stored).not.toContain(issued.refreshToken);
      for (const part of [seed, mac]) {
        expect(stored).not.toContain(part);
        expect(stored).not.toContain(Buffer.from(part, 'base64url').toString('hex'));
      }
      expect(stored).not.toContain(issued.accessToken);
    });

    it('returns an access token for the new session', async () => {
      const issued = await sessions.create({ id: 'user-1', roles: ['user', 'admin'] });
      const claims = tokens.verify(issued.accessToken);
      expect(claims).toMatchObject({ sub: 'user-1', sid: issued.session.id, roles: ['user', 'admin'] });
      expect(issued.accessTokenExpiresAt).toEqual(at(10 * MINUTE));
    });

    it('defaults roles to none and records no user agent or ip when none is given', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      expect(tokens.verify(issued.accessToken).roles).toEqual([]);
      const record = await store.findById(issued.session.id);
      expect(record?.userAgent).toBeNull();
      expect(record?.ip).toBeNull();
    });

    it('truncates an overlong user agent and ip', async () => {
      const issued = await sessions.create({ id: 'user-1' }, { userAgent: 'u'.repeat(2000), ip: '1'.repeat(100) });
      const record = await store.findById(issued.session.id);
      expect(record?.userAgent).toBe('u'.repeat(512));
      expect(record?.ip).toBe('1'.repeat(64));
    });

    it('gives two logins of one user different session ids and refresh tokens', async () => {
      const first = await sessions.create({ id: 'user-1' });
      const second = await sessions.create({ id: 'user-1' });
      expect(second.session.id).not.toBe(first.session.id);
      expect(second.refreshToken).not.toBe(first.refreshToken);
      const listed = (await sessions.listForUser('user-1')).map((record) => record.id);
      expect(listed.sort()).toEqual([first.session.id, second.session.id].sort());
    });
  });

  describe('refresh', () => {
    it('rotates: the new token works, the old one is refused with invalid_refresh_token', async () => {
      const first = await sessions.create({ id: 'user-1', roles: ['user'] });
      clock.advance(MINUTE);
      const second = await sessions.refresh(first.refreshToken);
      expect(second.session.id).toBe(first.session.id);
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(second.refreshToken.startsWith(`${first.session.id}.`)).toBe(true);
      expect(second.accessToken).not.toBe(first.accessToken);
      expect(second.accessTokenExpiresAt).toEqual(at(11 * MINUTE));
      expect(second.session.generation).toBe(1);
      expect(second.session.refreshHash).toBe(sessions.hashRefreshToken(second.refreshToken));
      expect(second.session.previousRefreshHash).toBe(sessions.hashRefreshToken(first.refreshToken));

      // Past the grace window the replaced token is a reuse: the whole session goes.
      clock.advance(11_000);
      const third = await sessions.refresh(second.refreshToken);
      expect(third.refreshToken).toMatch(new RegExp(`^${first.session.id}\\.2\\.[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}$`));
      expect(third.session.generation).toBe(2);
      expect(tokens.verify(third.accessToken)).toMatchObject({ sub: 'user-1', sid: first.session.id, roles: ['user'] });
    });

    it.each<[string, unknown]>([
      ['an empty string', ''],
      ['garbage', 'garbage'],
      ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.e30.c2ln'],
      ['a token without seed and mac', 'AAAAAAAAAAAAAAAAAAAAAA.0.'],
      ['a token without mac', `AAAAAAAAAAAAAAAAAAAAAA.0.${'A'.repeat(43)}`],
      ['a too short seed', `AAAAAAAAAAAAAAAAAAAAAA.0.${'A'.repeat(42)}.${'A'.repeat(43)}`],
      ['a too long mac', `AAAAAAAAAAAAAAAAAAAAAA.0.${'A'.repeat(43)}.${'A'.repeat(44)}`],
      ['a token with a fifth part', `AAAAAAAAAAAAAAAAAAAAAA.0.${'A'.repeat(43)}.${'A'.repeat(43)}.A`],
      ['a number', 12345],
      ['null', null],
      ['undefined', undefined],
      ['an object', { refreshToken: 'x' }],
      ['an array', ['AAAAAAAAAAAAAAAAAAAAAA', 'A'.repeat(43)]],
    ])('refuses %s with invalid_refresh_token', async (_label, value) => {
      expect(await failureCode(sessions.refresh(value))).toBe('invalid_refresh_token');
    });

    it('refuses a well-formed token for an unknown session', async () => {
      const unknown = `${randomBytes(16).toString('base64url')}.0.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
      expect(await failureCode(sessions.refresh(unknown))).toBe('invalid_refresh_token');
    });

    it("refuses someone else's session id with a forged secret, and leaves that session untouched", async () => {
      const victim = await sessions.create({ id: 'victim' });
      const before = await store.findById(victim.session.id);
      const forged = `${victim.session.id}.0.${randomBytes(32).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
      expect(await failureCode(sessions.refresh(forged))).toBe('invalid_refresh_token');
      expect(await store.findById(victim.session.id)).toEqual(before);
      expect((await sessions.refresh(victim.refreshToken)).session.userId).toBe('victim');
    });

    it("refuses one session's secret combined with another session's id", async () => {
      const mine = await sessions.create({ id: 'attacker' });
      const theirs = await sessions.create({ id: 'victim' });
      const spliced = `${theirs.session.id}.${mine.refreshToken.split('.').slice(1).join('.')}`;
      expect(await failureCode(sessions.refresh(spliced))).toBe('invalid_refresh_token');
    });

    it('fails with session_expired once the idle timeout has passed', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      clock.advance(7 * DAY);
      expect(await failureCode(sessions.refresh(issued.refreshToken))).toBe('session_expired');
      expect((await store.findById(issued.session.id))?.generation).toBe(0);
    });

    it('still works a millisecond before the idle timeout', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      clock.advance(7 * DAY - 1);
      const refreshed = await sessions.refresh(issued.refreshToken);
      expect(refreshed.session.expiresAt).toEqual(at(14 * DAY - 1));
    });

    it('extends the idle expiry on each refresh but never past the absolute expiry', async () => {
      let issued = await sessions.create({ id: 'user-1' });
      const expiries: Date[] = [issued.session.expiresAt];
      for (let day = 6; day <= 24; day += 6) {
        clock.set(at(day * DAY));
        issued = await sessions.refresh(issued.refreshToken);
        expiries.push(issued.session.expiresAt);
        expect(await store.findById(issued.session.id)).toMatchObject({
          expiresAt: issued.session.expiresAt,
          lastSeenAt: at(day * DAY),
          rotatedAt: at(day * DAY),
        });
      }
      expect(expiries).toEqual([at(7 * DAY), at(13 * DAY), at(19 * DAY), at(25 * DAY), at(30 * DAY)]);
      expect(issued.session.absoluteExpiresAt).toEqual(at(30 * DAY));

      clock.set(at(30 * DAY - 1));
      issued = await sessions.refresh(issued.refreshToken);
      expect(issued.session.expiresAt).toEqual(at(30 * DAY));

      clock.set(at(30 * DAY));
      expect(await failureCode(sessions.refresh(issued.refreshToken))).toBe('session_expired');
    });

    it('refuses a refresh of a revoked session with invalid_refresh_token', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      await sessions.revoke(issued.session.id);
      expect(await failureCode(sessions.refresh(issued.refreshToken))).toBe('invalid_refresh_token');
    });

    it('hashes with the sessionSecret: a module with another sessionSecret cannot refresh the token', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      const record = await store.findById(issued.session.id);
      if (!record) throw new Error('session was not stored');
      await moduleRef.close();
      await boot({ sessionSecret: 'a-different-session-secret-0123456789abc' });
      await store.create(record);
      expect(await failureCode(sessions.refresh(issued.refreshToken))).toBe('invalid_refresh_token');
    });
  });

  describe('revoke and assertLive', () => {
    it('accepts a live session', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      const live = await sessions.assertLive(tokens.verify(issued.accessToken));
      expect(live.id).toBe(issued.session.id);
    });

    it('revokes once: refresh then fails and assertLive throws session_revoked', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      const claims = tokens.verify(issued.accessToken);
      clock.advance(MINUTE);
      expect(await sessions.revoke(issued.session.id)).toBe(true);
      expect(await sessions.revoke(issued.session.id)).toBe(false);
      expect(await store.findById(issued.session.id)).toMatchObject({ revokedAt: at(MINUTE), revokedReason: 'logout' });
      expect(await failureCode(sessions.refresh(issued.refreshToken))).toBe('invalid_refresh_token');
      expect(await failureCode(sessions.assertLive(claims))).toBe('session_revoked');
    });

    it('records the reason given', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      await sessions.revoke(issued.session.id, 'admin');
      expect((await store.findById(issued.session.id))?.revokedReason).toBe('admin');
    });

    it('returns false for an unknown session', async () => {
      expect(await sessions.revoke('no-such-session')).toBe(false);
    });

    it('throws session_revoked for a token whose session does not exist', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      const claims = { ...tokens.verify(issued.accessToken), sid: randomBytes(16).toString('base64url') };
      expect(await failureCode(sessions.assertLive(claims))).toBe('session_revoked');
    });

    it('throws token_invalid when the token names another user than the session', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      const claims = { ...tokens.verify(issued.accessToken), sub: 'user-2' };
      expect(await failureCode(sessions.assertLive(claims))).toBe('token_invalid');
    });

    it('throws session_expired after the idle timeout', async () => {
      const issued = await sessions.create({ id: 'user-1' });
      const claims = tokens.verify(issued.accessToken);
      clock.advance(7 * DAY - 1);
      expect((await sessions.assertLive(claims)).id).toBe(issued.session.id);
      clock.advance(1);
      expect(await failureCode(sessions.assertLive(claims))).toBe('session_expired');
    });
  });

  describe('revokeAllForUser', () => {
    it('revokes every session of the user but the one kept, and no one else’s', async () => {
      const keep = await sessions.create({ id: 'alice' });
      const laptop = await sessions.create({ id: 'alice' });
      const phone = await sessions.create({ id: 'alice' });
      const bob = await sessions.create({ id: 'bob' });
      clock.advance(MINUTE);

      const revoked = await sessions.revokeAllForUser('alice', 'logout_all', keep.session.id);

      expect([...revoked].sort()).toEqual([laptop.session.id, phone.session.id].sort());
      expect((await sessions.listForUser('alice')).map((record) => record.id)).toEqual([keep.session.id]);
      expect(await store.findById(laptop.session.id)).toMatchObject({ revokedAt: at(MINUTE), revokedReason: 'logout_all' });
      expect(await failureCode(sessions.refresh(laptop.refreshToken))).toBe('invalid_refresh_token');
      expect(await failureCode(sessions.refresh(phone.refreshToken))).toBe('invalid_refresh_token');
      expect(await failureCode(sessions.assertLive(tokens.verify(phone.accessToken)))).toBe('session_revoked');
      expect((await sessions.refresh(keep.refreshToken)).session.id).toBe(keep.session.id);
      expect((await sessions.refresh(bob.refreshToken)).session.userId).toBe('bob');
    });

    it('revokes all of them without an exception', async () => {
      const one = await sessions.create({ id: 'alice' });
      const two = await sessions.create({ id: 'alice' });
      const revoked = await sessions.revokeAllForUser('alice', 'password_changed');
      expect([...revoked].sort()).toEqual([one.session.id, two.session.id].sort());
      expect(await sessions.listForUser('alice')).toEqual([]);
      expect((await store.findById(one.session.id))?.revokedReason).toBe('password_changed');
    });
  });

  describe('request context on events', () => {
    it('puts the IP and user agent passed to each action on its events, bounded like stored sessions', async () => {
      const events: SessionEvent[] = [];
      moduleRef.get(SessionEvents).subscribe((event) => void events.push(event));
      const context = sessionContextOf({ ip: '203.0.113.7', headers: { 'user-agent': `agent/${'x'.repeat(600)}` } });
      expect(context.userAgent).toHaveLength(606);

      const first = await sessions.create({ id: 'user-ctx' }, context);
      const refreshed = await sessions.refresh(first.refreshToken, { ip: '203.0.113.8', userAgent: 'refresher' });
      clock.advance(MINUTE);
      await expect(sessions.refresh(first.refreshToken, { ip: '198.51.100.9', userAgent: 'thief' })).rejects.toThrow();
      const second = await sessions.create({ id: 'user-ctx' });
      await sessions.revoke(second.session.id, 'logout', { ip: '203.0.113.10' });
      const third = await sessions.create({ id: 'user-ctx' });
      await sessions.revokeAllForUser('user-ctx', 'logout_all', undefined, { ip: '203.0.113.11', userAgent: 'all' });

      const seen = events.map((event) => [event.type, event.reason ?? null, event.ip, event.userAgent?.slice(0, 10) ?? null]);
      expect(seen).toEqual([
        ['session.created', null, '203.0.113.7', 'agent/xxxx'],
        ['session.refreshed', null, '203.0.113.8', 'refresher'],
        // Another IP and user agent than at login (issue 19).
        ['session.context_changed', null, '203.0.113.8', 'refresher'],
        ['refresh_token.reused', 'refresh_token_reused', '198.51.100.9', 'thief'],
        ['session.created', null, null, null],
        ['session.revoked', 'logout', '203.0.113.10', null],
        ['session.created', null, null, null],
        ['session.revoked', 'logout_all', '203.0.113.11', 'all'],
      ]);
      expect(events[0].userAgent).toHaveLength(512);
      expect(refreshed.session.id).toBe(first.session.id);
      expect(third.session.id).not.toBe(second.session.id);
    });

    it('reads an Express request: request.ip and the user-agent header', () => {
      expect(sessionContextOf({ ip: '::1', headers: { 'user-agent': 'curl/8' } })).toEqual({ ip: '::1', userAgent: 'curl/8' });
      expect(sessionContextOf({ headers: {} })).toEqual({ ip: null, userAgent: null });
    });
  });

  describe('listForUser', () => {
    it('lists live sessions oldest first and leaves out expired ones', async () => {
      const old = await sessions.create({ id: 'alice' });
      clock.advance(DAY);
      const recent = await sessions.create({ id: 'alice' });
      expect((await sessions.listForUser('alice')).map((record) => record.id)).toEqual([old.session.id, recent.session.id]);
      clock.set(at(7 * DAY));
      expect((await sessions.listForUser('alice')).map((record) => record.id)).toEqual([recent.session.id]);
    });
  });
});
