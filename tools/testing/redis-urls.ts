// Where the specs find the Redis servers of the run (see redis.global-setup.ts).

/** The shared Redis server when REDIS_URL is not set. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The shared Redis server of the run: REDIS_URL, or redis://127.0.0.1:6379. Use keys of your own. */
export function testRedisUrl(): string {
  return process.env.REDIS_URL || DEFAULT_REDIS_URL;
}

/** The masters of the run's Redis Cluster (TESSERA_REDIS_CLUSTER_URLS, set by the Redis global setup). */
export function testRedisClusterUrls(): string[] {
  const urls = process.env.TESSERA_REDIS_CLUSTER_URLS?.split(',').filter(Boolean) ?? [];
  if (urls.length === 0) {
    throw new Error('TESSERA_REDIS_CLUSTER_URLS is not set: run this spec with tools/testing/redis.global-setup.ts as its Jest globalSetup');
  }
  return urls;
}
