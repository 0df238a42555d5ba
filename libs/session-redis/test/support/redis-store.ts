import { randomBytes } from 'node:crypto';
import { createClient, createCluster } from 'redis';
import { RedisSessionStore, nodeRedisClient } from '../../src';
import type { NodeRedisConnection, RedisSessionStoreOptions } from '../../src';

/** The shared Redis of the machine (CI starts it). */
export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** A fresh key prefix, so that each test file has a store of its own on the shared server. */
export const freshPrefix = () => `tessera-test-${randomBytes(6).toString('hex')}`;

/** A connected node-redis client on the shared server, or on the test cluster when `cluster` is set. */
export async function connectTestRedis(target: 'server' | 'cluster' = 'server'): Promise<NodeRedisConnection> {
  const connection =
    target === 'cluster'
      ? createCluster({ rootNodes: clusterUrls().map((url) => ({ url })) })
      : createClient({ url: REDIS_URL });
  connection.on('error', () => undefined);
  await connection.connect();
  return connection as unknown as NodeRedisConnection;
}

/** The root nodes of the three-master cluster the global setup started. */
export function clusterUrls(): string[] {
  const urls = process.env['TESSERA_REDIS_CLUSTER_URLS'];
  if (!urls) throw new Error('TESSERA_REDIS_CLUSTER_URLS is not set: the Jest global setup starts the test cluster');
  return urls.split(',');
}

/** A store on `connection` with a fresh prefix. */
export function testStore(connection: NodeRedisConnection, options: RedisSessionStoreOptions = {}): RedisSessionStore {
  return new RedisSessionStore(nodeRedisClient(connection), { keyPrefix: freshPrefix(), ...options });
}

/** Deletes every key of a prefix (on each master of a cluster). */
export async function dropPrefix(connection: NodeRedisConnection, prefix: string): Promise<void> {
  const nodes = 'masters' in connection ? (connection as unknown as { masters: Array<{ client?: unknown }> }).masters : null;
  const clients = nodes
    ? await Promise.all(nodes.map((node) => (connection as unknown as { nodeClient(n: unknown): Promise<unknown> }).nodeClient(node)))
    : [connection];
  for (const client of clients as Array<ReturnType<typeof createClient>>) {
    for await (const keys of client.scanIterator({ MATCH: `*${prefix}*`, COUNT: 1000 })) {
      for (const key of keys) await client.unlink(key);
    }
  }
}
