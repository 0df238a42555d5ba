import { Injectable, Logger } from '@nestjs/common';
import type { FactoryProvider, OnApplicationShutdown } from '@nestjs/common';
import { SessionStoreUnavailableError } from '@tessera/session';
import { connectSessionRedis, nodeRedisClient } from '@tessera/session-redis';
import type { NodeRedisConnection, SessionRedisClient } from '@tessera/session-redis';
import type { SessionStoreConfig } from '../config/session-store';

/** What `PING` needs of a node-redis client or cluster client (their `sendCommand` signatures differ). */
interface PingableConnection {
  sendCommand(...args: unknown[]): Promise<unknown>;
}

/**
 * The demo's Redis connection (REDIS_URL), opened at boot by `connectSessionRedis` (a
 * cluster client when the server is a cluster node) and shared by the session store, the
 * login-attempt counters and `/health`. The demo opened it, so the demo closes it, at
 * shutdown, after the modules that use it (see `demoRedisProvider`).
 */
@Injectable()
export class DemoRedis implements OnApplicationShutdown {
  private readonly logger = new Logger('DemoRedis');
  /** The connection as the session-redis scripts use it (`EVALSHA`, routed by key on a cluster). */
  readonly scripts: SessionRedisClient;

  constructor(
    /** The node-redis client or cluster client. */
    readonly connection: NodeRedisConnection,
    /** Prefix of every key and channel (REDIS_KEY_PREFIX). */
    readonly keyPrefix: string,
    /** STORE_TIMEOUT, in ms. */
    readonly timeoutMs: number,
  ) {
    this.scripts = nodeRedisClient(connection);
  }

  /** `PING` (on a cluster, to one of its nodes), within `timeoutMs`; throws `SessionStoreUnavailableError` otherwise. */
  async ping(timeoutMs = this.timeoutMs): Promise<void> {
    if (!this.connection.isReady) throw new SessionStoreUnavailableError('Redis is not connected');
    const connection = this.connection as unknown as PingableConnection;
    const isCluster = 'masters' in this.connection;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        isCluster ? connection.sendCommand(undefined, true, ['PING']) : connection.sendCommand(['PING']),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new SessionStoreUnavailableError(`Redis did not answer PING within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } catch (error) {
      if (error instanceof SessionStoreUnavailableError) throw error;
      throw new SessionStoreUnavailableError('Redis PING failed', { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.connection.close();
    } catch (error) {
      // Already closed or broken: drop the socket without waiting for replies.
      this.logger.warn(`Closing the Redis connection failed (${error instanceof Error ? error.name : typeof error}); destroying it`);
      this.connection.destroy();
    }
  }
}

/** The Redis server in REDIS_URL did not answer at boot. The message never holds the URL (it may carry a password). */
export class RedisUnreachableError extends Error {
  override readonly name = 'RedisUnreachableError';

  constructor(cause: unknown) {
    const detail = cause instanceof Error ? ((cause as { code?: string }).code ?? cause.name) : typeof cause;
    super(`The Redis server in REDIS_URL cannot be reached (${detail}): start it, or fix REDIS_URL`, { cause });
  }
}

/**
 * Provides `DemoRedis`, connected at boot. The root module holds it (see
 * `SessionBackendModule.connections`): Nest shuts the root module down after every other
 * one but its own core, so the connection closes after everything that may still use it
 * (a running cleanup, the activity writes being flushed). Global modules offer no such
 * order among themselves.
 */
export function demoRedisProvider(store: SessionStoreConfig): FactoryProvider<DemoRedis> {
  return {
    provide: DemoRedis,
    useFactory: async () => {
      const url = store.redisUrl;
      if (!url) throw new Error('DemoRedis needs REDIS_URL (loadConfig refuses SESSION_STORE=redis without it)');
      let connection: NodeRedisConnection;
      try {
        connection = await connectSessionRedis(url);
      } catch (error) {
        throw new RedisUnreachableError(error);
      }
      return new DemoRedis(connection, store.redisKeyPrefix, store.timeoutMs);
    },
  };
}
