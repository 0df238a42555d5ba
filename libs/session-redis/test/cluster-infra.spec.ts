// Proves the Redis test tooling the store's tests stand on: the run's cluster (started by
// tools/testing/redis.global-setup.ts) really spreads keys over three masters, and a
// server of a test's own really goes away and comes back on the same port.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient, createCluster, type RedisClientType } from 'redis';
import { startRedisServer, testRedisClusterUrls, type RedisTestServer } from '@tessera/testing-support';

/** Resolves once `check()` holds; polls with a generous bound rather than guessing a delay. */
async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await delay(20);
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe('the run’s Redis Cluster (TESSERA_REDIS_CLUSTER_URLS)', () => {
  const urls = testRedisClusterUrls();
  const cluster = createCluster({ rootNodes: urls.map((url) => ({ url })) });
  const direct = new Map<number, RedisClientType>();
  const run = randomUUID();

  beforeAll(async () => {
    await cluster.connect();
    for (const url of urls) direct.set(portOf(url), (await createClient({ url }).connect()) as RedisClientType);
  });

  afterAll(async () => {
    cluster.destroy();
    for (const client of direct.values()) client.destroy();
  });

  /** A client connected straight to the master on this port (no redirects followed). */
  function node(port: number): RedisClientType {
    const client = direct.get(port);
    if (!client) throw new Error(`no master on port ${port}`);
    return client;
  }

  /** The master port serving each slot range, as CLUSTER SLOTS reports it. */
  async function slotOwners(): Promise<Array<{ from: number; to: number; port: number }>> {
    const reply = (await node(portOf(urls[0])).sendCommand(['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number]]>;
    return reply.map(([from, to, [, port]]) => ({ from: Number(from), to: Number(to), port: Number(port) }));
  }

  it('has three masters that serve all 16384 slots between them', async () => {
    const owners = await slotOwners();
    expect(urls).toHaveLength(3);
    expect(new Set(owners.map((owner) => owner.port))).toEqual(new Set(urls.map(portOf)));
    expect(owners.reduce((slots, owner) => slots + owner.to - owner.from + 1, 0)).toBe(16_384);
  });

  it('stores keys on each of the three masters, and reads them back through the cluster client', async () => {
    const owners = await slotOwners();
    const anyNode = node(portOf(urls[0]));
    // One key per master: ask Redis which slot a key hashes to until each master has one.
    const keyOf = new Map<number, string>();
    for (let i = 0; keyOf.size < 3; i++) {
      if (i > 1_000) throw new Error('no key found for some master');
      const key = `tessera:test:cluster-infra:${run}:${i}`;
      const slot = Number(await anyNode.sendCommand(['CLUSTER', 'KEYSLOT', key]));
      const owner = owners.find(({ from, to }) => slot >= from && slot <= to);
      if (!owner) throw new Error(`no master serves slot ${slot}`);
      if (!keyOf.has(owner.port)) keyOf.set(owner.port, key);
    }

    for (const [port, key] of keyOf) await cluster.set(key, `value of ${port}`, { EX: 60 });
    for (const [port, key] of keyOf) expect(await cluster.get(key)).toBe(`value of ${port}`);

    // Each key really is on its own master: that node has it, the other two redirect.
    for (const [port, key] of keyOf) {
      expect(await node(port).get(key)).toBe(`value of ${port}`);
      for (const [otherPort, other] of direct) {
        if (otherPort !== port) await expect(other.get(key)).rejects.toThrow(/MOVED/);
      }
    }
    for (const key of keyOf.values()) await cluster.del(key);
  });
});

describe('startRedisServer', () => {
  const servers: RedisTestServer[] = [];
  const clients: RedisClientType[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    for (const server of servers.splice(0)) await server.close();
  });

  /** A client that fails commands at once while disconnected and keeps reconnecting. */
  async function clientOf(server: RedisTestServer): Promise<RedisClientType> {
    const client = createClient({ url: server.url, disableOfflineQueue: true, socket: { reconnectStrategy: () => 50 } }) as RedisClientType;
    client.on('error', () => undefined); // Connection errors are the point here.
    clients.push(client);
    await client.connect();
    return client;
  }

  it('stops, and starts again empty on the same port; a client sees it go away and come back', async () => {
    const server = await startRedisServer();
    servers.push(server);
    const client = await clientOf(server);
    const { port, url, dir } = server;
    await client.set('tessera:test:key', 'before');

    await server.stop();
    expect(server.running).toBe(false);
    await eventually('the client notices the server is gone', () => !client.isReady);
    await expect(client.get('tessera:test:key')).rejects.toThrow();

    await server.start();
    expect([server.port, server.url]).toEqual([port, url]);
    await eventually('the client is reconnected', () => client.isReady);
    expect(await client.ping()).toBe('PONG');
    expect(await client.get('tessera:test:key')).toBeNull(); // No persistence by default.

    await server.close();
    expect(existsSync(dir)).toBe(false);
    await expect(server.start()).rejects.toThrow(/closed/);
  });

  it('with persistence, comes back from a kill with every acknowledged write', async () => {
    const server = await startRedisServer({ persistence: true });
    servers.push(server);
    const client = await clientOf(server);
    await client.set('tessera:test:key', 'kept');

    await server.kill();
    await eventually('the client notices the server is gone', () => !client.isReady);
    await server.start();
    await eventually('the client is reconnected', () => client.isReady);
    expect(await client.get('tessera:test:key')).toBe('kept');
  });
});
