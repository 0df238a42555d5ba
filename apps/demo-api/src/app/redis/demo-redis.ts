import { Injectable, Logger, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
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
 * shutdown, after the modules that use it (see `DemoRedisModule`).
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

/**
 * Provides `DemoRedis`. Global, and imported before `SessionModule`, so that it is shut
 * down after every module that may still send a command (Nest shuts global modules down
 * last, in the reverse order of their registration).
 */
@Module({})
export class DemoRedisModule {
  static forRoot(store: SessionStoreConfig): DynamicModule {
    const url = store.redisUrl;
    return {
      module: DemoRedisModule,
      global: true,
      providers: [
        {
          provide: DemoRedis,
          useFactory: async () => {
            if (!url) throw new Error('DemoRedisModule needs REDIS_URL (loadConfig refuses SESSION_STORE=redis without it)');
            return new DemoRedis(await connectSessionRedis(url), store.redisKeyPrefix, store.timeoutMs);
          },
        },
      ],
      exports: [DemoRedis],
    };
  }
}
