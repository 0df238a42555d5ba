import type { INestApplication } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import request from 'supertest';
import { FakeClock } from '../../testing';
import { SessionStoreUnavailableError } from '../exceptions/session-store-unavailable.error';
import { SessionGuard } from '../guards/session.guard';
import { SessionActivityInterceptor } from '../interceptors/session-activity.interceptor';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { SessionService } from './session.service';
import { ProbeController } from '../../../test/support/probe.controller';
import { START, startSessionApp } from '../../../test/support/session-module';

const MINUTE = 60_000;

describe('SessionActivityInterceptor + SessionActivityService', () => {
  let app: INestApplication;
  let clock: FakeClock;
  let store: InMemorySessionStore;
  let touches: Array<[string, Date, Date]>;

  beforeEach(async () => {
    clock = new FakeClock(START);
    store = new InMemorySessionStore();
    touches = [];
    const touch = store.touch.bind(store);
    store.touch = (id, at, expiresAt) => {
      touches.push([id, at, expiresAt]);
      return touch(id, at, expiresAt);
    };
    ({ app } = await startSessionApp(
      {
        jwtSecret: 'activity-spec-jwt-secret-0123456789abcdef',
        sessionSecret: 'activity-spec-session-secret-0123456789ab',
        store,
        clock,
        idleTimeout: '1h',
        absoluteTimeout: '1d',
        accessTokenTtl: '10m',
        activityInterval: '1m',
      },
      {
        controllers: [ProbeController],
        providers: [
          { provide: APP_GUARD, useExisting: SessionGuard },
          { provide: APP_INTERCEPTOR, useExisting: SessionActivityInterceptor },
        ],
      },
    ));
  });

  afterEach(() => app.close());

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('writes at most once per session per interval, and slides the idle expiry', async () => {
    const login = await app.get(SessionService).create({ id: 'u1' });
    const get = () => request(app.getHttpServer()).get('/probe').set('Authorization', `Bearer ${login.accessToken}`);
    for (let i = 0; i < 20; i++) await get().expect(200);
    await settle();
    expect(touches).toHaveLength(1);
    clock.advance(30_000);
    await get().expect(200);
    await settle();
    expect(touches).toHaveLength(1);
    clock.advance(31_000);
    await get().expect(200);
    await settle();
    expect(touches).toHaveLength(2);
    const stored = await store.findById(login.session.id);
    expect(stored?.lastSeenAt).toEqual(new Date(START.getTime() + 61_000));
    expect(stored?.expiresAt).toEqual(new Date(START.getTime() + 61_000 + 60 * MINUTE));
  });

  it('counts requests as activity: a refresh after idleTimeout since login works if a request came between', async () => {
    const sessions = app.get(SessionService);
    const used = await sessions.create({ id: 'u1' });
    const unused = await sessions.create({ id: 'u2' });
    clock.advance(9 * MINUTE);
    await request(app.getHttpServer()).get('/probe').set('Authorization', `Bearer ${used.accessToken}`).expect(200);
    await settle();
    clock.advance(56 * MINUTE); // 65 minutes after login, idle timeout 1 h
    await sessions.refresh(used.refreshToken);
    await expect(sessions.refresh(unused.refreshToken)).rejects.toMatchObject({ code: 'session_expired' });
  });

  it('does not touch anything for public or failed requests, and survives a failing store', async () => {
    await request(app.getHttpServer()).get('/probe').expect(401);
    expect(touches).toHaveLength(0);
    const login = await app.get(SessionService).create({ id: 'u1' });
    store.touch = () => Promise.reject(new Error('store down'));
    await request(app.getHttpServer()).get('/probe').set('Authorization', `Bearer ${login.accessToken}`).expect(200);
    await settle();
  });

  it('survives a store that throws instead of rejecting', async () => {
    const login = await app.get(SessionService).create({ id: 'u1' });
    let calls = 0;
    store.touch = () => {
      calls += 1;
      throw new SessionStoreUnavailableError();
    };
    await request(app.getHttpServer()).get('/probe').set('Authorization', `Bearer ${login.accessToken}`).expect(200);
    expect(calls).toBe(1);
    await settle();
  });
});
