import { Logger } from '@nestjs/common';
import { ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { FakeClock, sessionRecordFixture } from '../../testing';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { SessionModule } from '../session.module';
import { SESSION_CLEANUP_JOB, SessionCleanupService } from './session-cleanup.service';

const secrets = {
  jwtSecret: 'cleanup-spec-jwt-secret-0123456789abcdefgh',
  sessionSecret: 'cleanup-spec-session-secret-0123456789abcd',
};
const DAY = 86_400_000;

describe('SessionCleanupService', () => {
  const clock = new FakeClock('2030-06-01T00:00:00.000Z');

  async function boot(store: InMemorySessionStore, extra: object = {}, withScheduler = true) {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ...(withScheduler ? [ScheduleModule.forRoot()] : []),
        SessionModule.forRoot({ ...secrets, store, clock, ...extra }),
      ],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    return app;
  }

  it('deletes in batches everything expired or revoked before the retention, and nothing else', async () => {
    const store = new InMemorySessionStore();
    const now = clock.now().getTime();
    const old = Array.from({ length: 25 }, () =>
      sessionRecordFixture({ expiresAt: new Date(now - 8 * DAY), absoluteExpiresAt: new Date(now - 8 * DAY) }),
    );
    const recent = sessionRecordFixture({ expiresAt: new Date(now - 6 * DAY), absoluteExpiresAt: new Date(now - DAY) });
    const live = sessionRecordFixture({ expiresAt: new Date(now + DAY), absoluteExpiresAt: new Date(now + 2 * DAY) });
    for (const record of [...old, recent, live]) await store.create(record);
    const app = await boot(store, { cleanup: { batchSize: 10, cron: false } });
    try {
      const result = await app.get(SessionCleanupService).run();
      expect(result).toEqual({ ran: true, deleted: 25, batches: 3, durationMs: expect.any(Number), truncated: false });
      expect(await store.findById(recent.id)).not.toBeNull();
      expect(await store.findById(live.id)).not.toBeNull();
    } finally {
      await app.close();
    }
  });

  it('does nothing while another instance holds the lock', async () => {
    const store = new InMemorySessionStore();
    const app = await boot(store, { cleanup: { cron: false } });
    const lock = await store.acquireCleanupLock();
    try {
      expect((await app.get(SessionCleanupService).run()).ran).toBe(false);
    } finally {
      await lock?.release();
      await app.close();
    }
  });

  it('registers its cron job on the app scheduler, and removes it on shutdown', async () => {
    const app = await boot(new InMemorySessionStore(), { cleanup: { cron: '*/7 * * * *' } });
    const registry = app.get(SchedulerRegistry);
    expect(registry.getCronJob(SESSION_CLEANUP_JOB).cronTime.source).toBe('*/7 * * * *');
    await app.close();
    expect(registry.doesExist('cron', SESSION_CLEANUP_JOB)).toBe(false);
  });

  it('warns instead of scheduling when the app has no ScheduleModule, and schedules nothing with cron: false', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const app = await boot(new InMemorySessionStore(), {}, false);
      expect(warn.mock.calls.some(([message]) => String(message).includes('ScheduleModule.forRoot()'))).toBe(true);
      await app.close();
      warn.mockClear();
      const quiet = await boot(new InMemorySessionStore(), { cleanup: { cron: false } }, false);
      expect(warn).not.toHaveBeenCalled();
      await quiet.close();
    } finally {
      warn.mockRestore();
    }
  });

  it('logs a failing scheduled run and never throws', async () => {
    const store = new InMemorySessionStore();
    store.deleteExpired = () => Promise.reject(new Error('database down: SELECT secret FROM somewhere'));
    const app = await boot(store, { cleanup: { cron: '* * * * *' } });
    const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    try {
      const job = app.get(SchedulerRegistry).getCronJob(SESSION_CLEANUP_JOB);
      await job.fireOnTick();
      await new Promise((resolve) => setImmediate(resolve));
      expect(error).toHaveBeenCalledWith('Session cleanup failed (Error)');
      // The lock was released despite the failure.
      expect(await store.acquireCleanupLock()).not.toBeNull();
    } finally {
      error.mockRestore();
      await app.close();
    }
  });

  it('refuses a malformed cron expression at boot', async () => {
    await expect(boot(new InMemorySessionStore(), { cleanup: { cron: 'every tuesday' } })).rejects.toThrow('cleanup.cron');
  });
});
