import { Test } from '@nestjs/testing';
import { SessionStoreUnavailableError } from '@tessera/session';
import { RedisSessionStore, SessionRedisModule, connectSessionRedis } from '../src';
import { REDIS_URL, clusterUrls, connectTestRedis, freshPrefix } from './support/redis-store';

describe('SessionRedisModule', () => {
  it('connects a client to `url` itself, and closes it at shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionRedisModule.forRoot({ url: REDIS_URL, keyPrefix: freshPrefix() })],
    }).compile();
    const app = await moduleRef.init();
    const store = app.get(RedisSessionStore);
    expect(await store.findById('nothing-here')).toBeNull();
    await app.close();
    // Its client is closed: the store fails at once, as while Redis is unreachable.
    await expect(store.findById('nothing-here')).rejects.toThrow(SessionStoreUnavailableError);
  });

  it("uses the app's client and never closes it", async () => {
    const client = await connectTestRedis();
    try {
      const moduleRef = await Test.createTestingModule({
        imports: [SessionRedisModule.forRootAsync({ useFactory: () => ({ client, keyPrefix: freshPrefix() }) })],
      }).compile();
      const app = await moduleRef.init();
      expect(await app.get(RedisSessionStore).findById('nothing-here')).toBeNull();
      await app.close();
      expect(client.isReady).toBe(true);
    } finally {
      await client.close();
    }
  });

  it('refuses to start with neither or both of client and url, saying what to give', async () => {
    const client = await connectTestRedis();
    try {
      for (const options of [{}, { client, url: REDIS_URL }]) {
        const moduleRef = Test.createTestingModule({ imports: [SessionRedisModule.forRoot(options)] });
        await expect(moduleRef.compile()).rejects.toThrow(/either "client".*or "url"/);
      }
    } finally {
      await client.close();
    }
  });

  it('connectSessionRedis returns a cluster client for a cluster node, a plain client otherwise', async () => {
    const plain = await connectSessionRedis(REDIS_URL);
    const cluster = await connectSessionRedis(clusterUrls()[0]);
    try {
      expect('masters' in plain).toBe(false);
      expect('masters' in cluster).toBe(true);
      expect((cluster as unknown as { masters: unknown[] }).masters).toHaveLength(3);
    } finally {
      await Promise.all([plain.close(), cluster.close()]);
    }
  });
});
