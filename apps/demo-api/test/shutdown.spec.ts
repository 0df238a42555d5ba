import { SessionCleanupService } from '@tessera/session';
import { DemoRedis } from '../src/app/redis/demo-redis';
import { REAL_BACKENDS, startDemoApp } from './support/demo-app';

describe(`shutdown (${REAL_BACKENDS})`, () => {
  afterEach(() => jest.restoreAllMocks());

  it('closes the Redis connection it opened, after every module that may still use it; on PostgreSQL opens none', async () => {
    const order: string[] = [];
    // Recorded, then done as usual (the cleanup waits for a running cleanup, which needs the store).
    const stopCleanup = SessionCleanupService.prototype.onApplicationShutdown;
    jest.spyOn(SessionCleanupService.prototype, 'onApplicationShutdown').mockImplementation(async function (this: SessionCleanupService) {
      order.push('session cleanup');
      await stopCleanup.call(this);
    });
    const closeRedis = DemoRedis.prototype.onApplicationShutdown;
    jest.spyOn(DemoRedis.prototype, 'onApplicationShutdown').mockImplementation(async function (this: DemoRedis) {
      order.push('redis connection');
      await closeRedis.call(this);
    });

    const demo = await startDemoApp({ CLEANUP_CRON: '*/5 * * * *' });
    const isOpen = (redis: DemoRedis) => (redis.connection as unknown as { isOpen: boolean }).isOpen;
    const redis = demo.store === 'redis' ? demo.app.get(DemoRedis) : undefined;
    if (redis) expect(isOpen(redis)).toBe(true);

    await demo.close();
    // On PostgreSQL there is no DemoRedis at all: its hook never runs.
    expect(order).toEqual(redis ? ['session cleanup', 'redis connection'] : ['session cleanup']);
    if (redis) expect(isOpen(redis)).toBe(false);
  });
});
