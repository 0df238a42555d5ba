// A throwaway Redis Cluster (three masters, no replicas) on free ports, for the store's
// cluster tests. Started once per Jest run by redis.global-setup.ts.
import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { RedisErrorReply, redisCommands } from './redis-command';
import { RedisPortInUseError, startRedisProcess, type RedisTestServer } from './redis-server';

/** How `startRedisCluster` runs the cluster. */
export interface RedisClusterOptions {
  /** How long starting the nodes, creating the cluster and its agreeing may each take, in ms. Default 60 000. */
  timeoutMs?: number;
}

/** A running test cluster of three masters on 127.0.0.1. */
export interface RedisTestCluster {
  /** One entry per master, as node-redis `createCluster({ rootNodes })` takes them. */
  readonly rootNodes: Array<{ url: string }>;
  /** The masters' ports (each node's cluster bus is on port+10000). */
  readonly ports: number[];
  /** The nodes, for a test that stops one (never on the cluster shared by a whole run). */
  readonly nodes: RedisTestServer[];
  /** Stops every node and removes their directories. */
  stop(): Promise<void>;
}

const MASTERS = 3;
const SLOTS = 16_384;
const POLL_MS = 100;

/** The fields of a CLUSTER INFO reply. */
function clusterInfo(reply: unknown): Map<string, string> {
  if (typeof reply !== 'string') return new Map();
  return new Map(
    reply
      .split(/\r?\n/)
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]),
  );
}

/** What keeps a node from being ready, or undefined once it sees the whole cluster as ok. */
async function notReady(port: number): Promise<string | undefined> {
  try {
    const [reply] = await redisCommands({ host: '127.0.0.1', port }, [['CLUSTER', 'INFO']], 2_000);
    if (reply instanceof RedisErrorReply) return reply.message;
    const info = clusterInfo(reply);
    const wanted: Array<[string, string]> = [
      ['cluster_state', 'ok'],
      ['cluster_slots_assigned', String(SLOTS)],
      ['cluster_slots_ok', String(SLOTS)],
      ['cluster_known_nodes', String(MASTERS)],
      ['cluster_size', String(MASTERS)],
    ];
    const off = wanted.filter(([key, value]) => info.get(key) !== value);
    return off.length === 0 ? undefined : off.map(([key]) => `${key}:${info.get(key) ?? '?'}`).join(' ');
  } catch (error) {
    return (error as Error).message;
  }
}

/** Starts one cluster node, on another free port pair when the first was taken meanwhile. */
async function startNode(timeoutMs: number): Promise<RedisTestServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRedisProcess({
        clusterBus: true,
        dirPrefix: 'tessera-redis-cluster-',
        timeoutMs,
        // nodes.conf is the node's own state (its id, the slots it serves); kept in its directory.
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
      });
    } catch (error) {
      if (!(error instanceof RedisPortInUseError) || attempt >= 5) throw error;
    }
  }
}

/**
 * Starts three cluster-enabled redis-server processes (each in its own temporary
 * directory, no persistence), joins them with `redis-cli --cluster create` (no replicas),
 * and resolves once every node reports `cluster_state:ok` with all 16384 slots served and
 * knows the other two.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisTestCluster> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const nodes: RedisTestServer[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.close()));
  };
  try {
    // One after another: free ports are chosen per node, so two nodes never get the same one.
    for (let i = 0; i < MASTERS; i++) nodes.push(await startNode(timeoutMs));
    const ports = nodes.map((node) => node.port);
    try {
      await promisify(execFile)(
        'redis-cli',
        ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'],
        { timeout: timeoutMs },
      );
    } catch (error) {
      const { code, stdout, stderr, message } = error as { code?: string; stdout?: string; stderr?: string; message: string };
      if (code === 'ENOENT') throw new Error('redis-cli is not installed (Debian: apt-get install redis-server)', { cause: error });
      throw new Error(`redis-cli --cluster create failed: ${message}\n${stdout ?? ''}${stderr ?? ''}`.trimEnd(), { cause: error });
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const waiting = (await Promise.all(ports.map(async (port) => [port, await notReady(port)] as const))).filter(([, why]) => why);
      if (waiting.length === 0) break;
      if (Date.now() > deadline) {
        throw new Error(`the test Redis Cluster did not become ready within ${timeoutMs} ms: ${waiting.map(([port, why]) => `${port}: ${why}`).join('; ')}`);
      }
      await delay(POLL_MS);
    }
    return { rootNodes: nodes.map((node) => ({ url: node.url })), ports, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
