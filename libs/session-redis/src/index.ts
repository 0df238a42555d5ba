export * from './lib/interfaces/session-redis-client.interface';
export { connectSessionRedis, nodeRedisClient } from './lib/adapters/node-redis.client';
export type { ConnectSessionRedisOptions, NodeRedisConnection, NodeRedisEvalOptions } from './lib/adapters/node-redis.client';
export * from './lib/stores/redis-session.store';
export * from './lib/session-redis.module';
export { RedisSessionHealthIndicator } from './lib/health/redis-session-health.indicator';
export type { SessionHealthCheckOptions, SessionHealthDetails } from '@tessera/session';
