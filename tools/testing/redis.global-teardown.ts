/** Stops the Redis Cluster started by the global setup and removes its directories. */
export default async function globalTeardown(): Promise<void> {
  const cluster = globalThis.__TESSERA_TEST_REDIS_CLUSTER__;
  globalThis.__TESSERA_TEST_REDIS_CLUSTER__ = undefined;
  if (!cluster) return;
  // Started by this run's setup: forget its urls too, so a watch-mode rerun starts a new one.
  delete process.env.TESSERA_REDIS_CLUSTER_URLS;
  await cluster.stop();
}
