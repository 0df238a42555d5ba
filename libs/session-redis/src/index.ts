export * from './lib/interfaces/session-redis-client.interface';
