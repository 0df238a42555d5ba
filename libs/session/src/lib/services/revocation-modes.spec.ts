import type { INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import { FakeClock } from '../../testing';
import { SessionGuard } from '../guards/session.guard';
import type { RevocationMode } from '../interfaces/session-module-options.interface';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { RevocationCache } from './revocation-cache.service';
import { SessionService } from './session.service';
import { ProbeController } from '../../../test/support/probe.controller';
import { START, startSessionApp } from '../../../test/support/session-module';

const MINUTE = 60_000;

/** Two app instances sharing one store, as two processes share one database. */
describe('revocation modes (two instances on one in-memory store)', () => {
  let store: InMemorySessionStore;
  let clock: FakeClock;
  const apps: INestApplication[] = [];

  async function instance(revocationMode: RevocationMode): Promise<INestApplication> {
    const { app } = await startSessionApp(
      {
        jwtSecret: 'revocation-spec-jwt-secret-0123456789abcd',
        sessionSecret: 'revocation-spec-session-secret-0123456789',
        store,
        clock,
        revocationMode,
      },
      { controllers: [ProbeController], providers: [{ provide: APP_GUARD, useExisting: SessionGuard }] },
    );
    apps.push(app);
    return app;
  }

  beforeEach(() => {
    store = new InMemorySessionStore();
    clock = new FakeClock(START);
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  const probe = (app: INestApplication, token: string) =>
    request(app.getHttpServer()).get('/probe').set('Authorization', `Bearer ${token}`);
  const tick = () => new Promise((resolve) => setImmediate(resolve));

  it('cached: a logout on B is honoured by A through the feed', async () => {
    const a = await instance('cached');
    const b = await instance('cached');
    const login = await a.get(SessionService).create({ id: 'u1' });
    await probe(a, login.accessToken).expect(200);
    await b.get(SessionService).revoke(login.session.id);
    await tick();
    const response = await probe(a, login.accessToken).expect(401);
    expect(response.body.code).toBe('session_revoked');
  });

  it('cached: the revoking instance rejects at once, without waiting for the feed', async () => {
    const a = await instance('cached');
    const login = await a.get(SessionService).create({ id: 'u1' });
    await a.get(SessionService).revoke(login.session.id);
    expect(a.get(RevocationCache).has(login.session.id)).toBe(true);
    await probe(a, login.accessToken).expect(401);
  });

  it('cached: loads revocations made before it started (resync on connect)', async () => {
    const a = await instance('cached');
    const login = await a.get(SessionService).create({ id: 'u1' });
    await a.get(SessionService).revoke(login.session.id);
    const late = await instance('cached');
    await probe(late, login.accessToken).expect(401);
  });

  it('cached: forgets entries once every token of the session has expired', async () => {
    const a = await instance('cached');
    const cache = a.get(RevocationCache);
    const login = await a.get(SessionService).create({ id: 'u1' });
    await a.get(SessionService).revoke(login.session.id);
    clock.advance(10 * MINUTE);
    cache.sweep();
    expect(cache.has(login.session.id)).toBe(true);
    clock.advance(5_001 + 1);
    cache.sweep();
    expect(cache.has(login.session.id)).toBe(false);
    expect(cache.size).toBe(0);
    // And the token is refused anyway: it expired.
    expect((await probe(a, login.accessToken).expect(401)).body.code).toBe('token_expired');
  });

  it('stateless: the access token is trusted until it expires', async () => {
    const a = await instance('stateless');
    const login = await a.get(SessionService).create({ id: 'u1' });
    await a.get(SessionService).revoke(login.session.id);
    await probe(a, login.accessToken).expect(200);
    clock.advance(10 * MINUTE + 5_001);
    await probe(a, login.accessToken).expect(401);
  });

  it('strict: reads the store on every request, so even a revocation the feed never carried counts', async () => {
    const a = await instance('strict');
    const login = await a.get(SessionService).create({ id: 'u1' });
    await probe(a, login.accessToken).expect(200);
    // Simulate a revocation written by something that bypasses the feed.
    const record = await store.findById(login.session.id);
    if (!record) throw new Error('no record');
    (store as unknown as { sessions: Map<string, typeof record> }).sessions.set(record.id, {
      ...record,
      revokedAt: clock.now(),
      revokedReason: 'admin',
    });
    expect((await probe(a, login.accessToken).expect(401)).body.code).toBe('session_revoked');
  });

  // Issue 12, finding 5: only `cached` mode reads and sweeps the cache, so the others
  // must not fill it (it grew for the life of the process).
  it.each(['stateless', 'strict'] as const)(
    'finding 5: %s mode keeps no revocations in memory, however many it makes',
    async (mode) => {
      const a = await instance(mode);
      const sessions = a.get(SessionService);
      for (let i = 0; i < 50; i++) {
        const login = await sessions.create({ id: `u${i % 5}` });
        await sessions.revoke(login.session.id);
      }
      await sessions.revokeAllForUser('u1', 'logout_all');
      const spare = await sessions.create({ id: 'u9' });
      await sessions.reissue(spare.session.id);
      expect(a.get(RevocationCache).size).toBe(0);
    },
  );

  it('refuses an unknown mode at boot', async () => {
    await expect(instance('sometimes' as RevocationMode)).rejects.toThrow('"revocationMode"');
  });
});
