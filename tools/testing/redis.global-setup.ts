/**
 * Jest global setup for suites that need Redis (libs/session-redis). Checks that the
 * shared server in REDIS_URL (default redis://127.0.0.1:6379; CI starts it) answers, and
 * starts one throwaway Redis Cluster for the whole run, exposed to the tests as
 * TESSERA_REDIS_CLUSTER_URLS (comma-separated redis:// urls of its masters; read them
 * with `testRedisClusterUrls()`). Test files share both: each uses keys of its own.
 *
 * TESSERA_REDIS_CLUSTER_URLS set before the run names a cluster to use instead of
 * starting one.
 */
import { redisAddressOf, redisCommands } from './redis-command';
import { startRedisCluster, type RedisTestCluster } from './redis-cluster';
import { DEFAULT_REDIS_URL } from './redis-urls';

declare global {
  var __TESSERA_TEST_REDIS_CLUSTER__: RedisTestCluster | undefined;
}

async function assertAnswers(url: string): Promise<void> {
  let why: string;
  try {
    const [reply] = await redisCommands(redisAddressOf(url), [['PING']], 5_000);
    if (reply === 'PONG') return;
    why = `it replied ${JSON.stringify(reply)}`;
  } catch (error) {
    why = (error as Error).message;
  }
  const shown = url.replace(/\/\/[^@/]*@/, '//***@');
  throw new Error(`The Redis server in REDIS_URL (${shown}) does not answer PING (${why}). Start it (.ci/run does) or point REDIS_URL at one.`);
}

export default async function globalSetup(): Promise<void> {
  process.env.REDIS_URL ||= DEFAULT_REDIS_URL;
  await assertAnswers(process.env.REDIS_URL);
  if (process.env.TESSERA_REDIS_CLUSTER_URLS) return;
  const cluster = await startRedisCluster();
  globalThis.__TESSERA_TEST_REDIS_CLUSTER__ = cluster;
  process.env.TESSERA_REDIS_CLUSTER_URLS = cluster.rootNodes.map((node) => node.url).join(',');
}
