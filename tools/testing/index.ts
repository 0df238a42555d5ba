// Test tooling shared by the projects' specs (`@tessera/testing-support`); never imported by
// library or app code, and not part of any published entry point.
export * from './with-jose';
export * from './cookies';
export * from './contract-shapes';
export * from './tcp-proxy';
export { freePorts, startRedisServer, type RedisServerOptions, type RedisTestServer } from './redis-server';
export { startRedisCluster, type RedisClusterOptions, type RedisTestCluster } from './redis-cluster';
export { testRedisClusterUrls, testRedisUrl } from './redis-urls';
