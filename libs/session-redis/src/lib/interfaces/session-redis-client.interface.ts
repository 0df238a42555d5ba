/**
 * The few things `RedisSessionStore` asks of a Redis client: every read and write is a
 * Lua script (`EVALSHA`, falling back to `EVAL` on `NOSCRIPT`), and the revocation feed
 * is pub/sub on a connection of its own. `nodeRedisClient()` adapts a node-redis v5+
 * client or cluster; any other client (ioredis, iovalkey) fits in a few lines, see the
 * README ("Another Redis client").
 */
export interface SessionRedisClient {
  /**
   * `EVALSHA sha numkeys ...keys ...args`. Must reject with an error whose message starts
   * with `NOSCRIPT` when the node holding the keys does not know the script (the store
   * then sends `EVAL`). On a cluster, route by the keys (all of a call's keys share one
   * hash slot).
   */
  evalSha(sha: string, keys: string[], args: string[]): Promise<unknown>;
  /** `EVAL script numkeys ...keys ...args` (which also caches the script on that node). */
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
  /**
   * Whether the client can send commands now. While it is `false` the store fails at once
   * with `SessionStoreUnavailableError` instead of letting calls queue until Redis returns.
   */
  readonly isReady: boolean;
  /** `PUBLISH channel message` (cluster: to every node). */
  publish(channel: string, message: string): Promise<unknown>;
  /** Opens a dedicated pub/sub connection (a duplicate of this client) for the revocation feed. */
  subscriber(): Promise<SessionRedisSubscriber>;
}

/** A pub/sub connection of its own, as the revocation feed needs it. */
export interface SessionRedisSubscriber {
  /** Subscribes to these channels; `onMessage` gets every message until `close()`. */
  subscribe(channels: string[], onMessage: (message: string, channel: string) => void): Promise<void>;
  /**
   * Calls `listener` every time the connection is usable again after it was lost (and its
   * subscriptions are restored): messages published meanwhile were missed.
   */
  onReconnect(listener: () => void): void;
  /** Whether the connection is up now (health checks); a client that cannot tell leaves it out. */
  readonly isReady?: boolean;
  /** Closes the connection. */
  close(): Promise<void>;
}
