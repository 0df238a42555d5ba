export * from './lib/interfaces/session-redis-client.interface';
export * from './lib/adapters/node-redis.client';
export * from './lib/stores/redis-session.store';
export * from './lib/session-redis.module';
