import { Logger } from '@nestjs/common';
import type { SessionRedisClient, SessionRedisSubscriber } from '../interfaces/session-redis-client.interface';

/** Arguments of node-redis's `EVAL`/`EVALSHA`. */
export interface NodeRedisEvalOptions {
  keys: string[];
  arguments: string[];
}

/**
 * What the store uses of a node-redis (v5 or later) client or cluster client, as
 * `createClient()` / `createCluster()` return them. Declared here so that this package
 * needs `redis` only when the app uses it.
 */
export interface NodeRedisConnection {
  /** Whether commands can be sent now. */
  readonly isReady: boolean;
  /** `EVALSHA`. */
  evalSha(sha: string, options: NodeRedisEvalOptions): Promise<unknown>;
  /** `EVAL`. */
  eval(script: string, options: NodeRedisEvalOptions): Promise<unknown>;
  /** `PUBLISH`. */
  publish(channel: string, message: string): Promise<unknown>;
  /** `SUBSCRIBE` (on the feed's duplicate). */
  subscribe(channels: string[], listener: (message: string, channel: string) => void): Promise<unknown>;
  /** A new client with the same options (the feed's own connection). */
  duplicate(): NodeRedisConnection;
  /** Connects. */
  connect(): Promise<unknown>;
  /** Closes gracefully. */
  close(): Promise<unknown>;
  /** Closes at once. */
  destroy(): unknown;
  /** Events: `error`, `ready` (`node-ready` on a cluster client). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** The same client with other command options (node-redis 5 and later). */
  withCommandOptions?(options: { timeout?: number }): NodeRedisConnection;
}

/** How a node-redis client says it is a cluster client (`createCluster`). */
function isCluster(connection: NodeRedisConnection): boolean {
  return 'masters' in connection && 'slots' in connection;
}

const logger = new Logger('SessionRedis');

/** Logs a connection error by kind (never its message, which may hold a URL with a password). */
export function logRedisError(what: string): (error: unknown) => void {
  let last = '';
  return (error: unknown) => {
    const kind = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : typeof error;
    // Once per kind in a row: a reconnect loop would otherwise log every few hundred ms.
    if (kind === last) return;
    last = kind;
    logger.warn(`${what}: ${kind}`);
  };
}

/**
 * Adapts a node-redis client (`createClient()`) or cluster client (`createCluster()`) to
 * the store. The app owns the client: it connects it and closes it; the store only opens
 * (and closes) the duplicate its revocation feed subscribes on.
 */
export function nodeRedisClient(connection: NodeRedisConnection): SessionRedisClient {
  // The store bounds every call itself (`commandTimeout`). node-redis 6 also arms a timer of
  // its own per command (an AbortSignal, 5 s by default): a second one on every request's
  // path, and a measurable share of a refresh's CPU, so the store's commands go without it.
  const commands = connection.withCommandOptions?.({ timeout: 0 }) ?? connection;
  return {
    evalSha: (sha, keys, args) => commands.evalSha(sha, { keys, arguments: args }),
    eval: (script, keys, args) => commands.eval(script, { keys, arguments: args }),
    get isReady() {
      return connection.isReady;
    },
    publish: (channel, message) => connection.publish(channel, message),
    subscriber: () => nodeRedisSubscriber(connection),
  };
}

async function nodeRedisSubscriber(connection: NodeRedisConnection): Promise<SessionRedisSubscriber> {
  const duplicate = connection.duplicate();
  duplicate.on('error', logRedisError('Redis revocation feed connection'));
  const listeners: Array<() => void> = [];
  let subscribed = false;
  // A cluster client reports each node connection; its pub/sub one is among them.
  duplicate.on(isCluster(connection) ? 'node-ready' : 'ready', () => {
    if (subscribed) for (const listener of listeners) listener();
  });
  await duplicate.connect();
  return {
    subscribe: async (channels, onMessage) => {
      await duplicate.subscribe(channels, (message, channel) => onMessage(message, channel));
      subscribed = true;
    },
    onReconnect: (listener) => {
      listeners.push(listener);
    },
    get isReady() {
      return subscribed && duplicate.isReady;
    },
    close: async () => {
      subscribed = false;
      try {
        await duplicate.close();
      } catch {
        duplicate.destroy();
      }
    },
  };
}

/** Options of `connectSessionRedis`. */
export interface ConnectSessionRedisOptions {
  /** Longest wait for the first connection. Default: 5000 ms. */
  connectTimeoutMs?: number;
}

/**
 * Connects a node-redis client to `url` (`redis://` or `rediss://`), loading `redis`
 * (an optional peer of this package) on demand. When the server is a cluster node
 * (`INFO cluster` says `cluster_enabled:1`) it returns a cluster client seeded with it.
 * Connection errors are logged by kind; the client reconnects by itself. The caller owns
 * the client and closes it (`close()`).
 */
export async function connectSessionRedis(url: string, options: ConnectSessionRedisOptions = {}): Promise<NodeRedisConnection> {
  const { createClient, createCluster } = await import('redis');
  const connectTimeout = options.connectTimeoutMs ?? 5_000;
  const probe = createClient({ url, socket: { connectTimeout, reconnectStrategy: false } });
  probe.on('error', () => undefined);
  await probe.connect();
  let info: string;
  try {
    info = String(await probe.info('cluster'));
  } finally {
    await probe.close().catch(() => probe.destroy());
  }
  // Nodes found through the seed get its credentials (the seed's URL carries them only for itself).
  const { username, password } = new URL(url);
  const credentials = {
    ...(username ? { username: decodeURIComponent(username) } : {}),
    ...(password ? { password: decodeURIComponent(password) } : {}),
  };
  const connection = (
    /^cluster_enabled:1\b/m.test(info)
      ? createCluster({ rootNodes: [{ url }], defaults: { ...credentials, socket: { connectTimeout } } })
      : createClient({ url, socket: { connectTimeout } })
  ) as unknown as NodeRedisConnection;
  connection.on('error', logRedisError('Redis connection'));
  await connection.connect();
  return connection;
}
