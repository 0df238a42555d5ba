import { describeSessionStoreContract } from '@tessera/session/testing';
import type { NodeRedisConnection, RedisSessionStore } from '../src';
import { connectTestRedis, dropPrefix, testStore } from './support/redis-store';

for (const target of ['server', 'cluster'] as const) {
  let connection: NodeRedisConnection;
  let peerConnection: NodeRedisConnection;
  let store: RedisSessionStore;
  describeSessionStoreContract(`redis (${target === 'server' ? 'one server' : 'a three-master cluster'})`, {
    setup: async () => {
      connection = await connectTestRedis(target);
      store = testStore(connection);
      return store;
    },
    // Another app instance: its own client, the same prefix.
    peer: async () => {
      peerConnection = await connectTestRedis(target);
      return testStore(peerConnection, { keyPrefix: store.keyPrefix });
    },
    teardown: async () => {
      await dropPrefix(connection, store.keyPrefix);
      await Promise.all([connection.close(), peerConnection?.close()]);
    },
  });
}
