import { Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, FactoryProvider, ModuleMetadata, OnApplicationShutdown } from '@nestjs/common';
import { connectSessionRedis, nodeRedisClient } from './adapters/node-redis.client';
import type { NodeRedisConnection } from './adapters/node-redis.client';
import type { SessionRedisClient } from './interfaces/session-redis-client.interface';
import { RedisSessionStore } from './stores/redis-session.store';
import type { RedisSessionStoreOptions } from './stores/redis-session.store';

/** Options of `SessionRedisModule`: the store's, and where its Redis is. */
export interface SessionRedisModuleOptions extends RedisSessionStoreOptions {
  /**
   * The app's Redis client: a node-redis client or cluster client (`createClient()`,
   * `createCluster()`, connected by the app), or any client adapted to `SessionRedisClient`.
   * The app keeps it: the module never closes it. Give this or `url`.
   */
  client?: NodeRedisConnection | SessionRedisClient;
  /**
   * A `redis://` / `rediss://` URL (of a server, or of one node of a cluster): the module
   * connects a node-redis client itself (`redis` must be installed) and closes it at
   * shutdown. Give this or `client`.
   */
  url?: string;
}

/** Options of `SessionRedisModule.forRootAsync`. */
export interface SessionRedisModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Providers to inject into `useFactory`. */
  inject?: FactoryProvider['inject'];
  /** Returns the options. */
  useFactory: (...args: never[]) => SessionRedisModuleOptions | Promise<SessionRedisModuleOptions>;
}

/** Messages of the module's configuration errors. */
export const SESSION_REDIS_MODULE_ERROR_MESSAGES = {
  clientOrUrl: 'SessionRedisModule needs either "client" (your connected node-redis client) or "url" (a redis:// URL), not both and not neither.',
} as const;

const STORE_HANDLE = Symbol('SessionRedisStoreHandle');

/** The store and what to close at shutdown. */
interface StoreHandle {
  store: RedisSessionStore;
  /** The client the module connected itself, if any. */
  owned?: NodeRedisConnection;
}

function isSessionRedisClient(client: NodeRedisConnection | SessionRedisClient): client is SessionRedisClient {
  return typeof (client as SessionRedisClient).subscriber === 'function';
}

async function openStore(options: SessionRedisModuleOptions): Promise<StoreHandle> {
  const { client, url, ...storeOptions } = options;
  if ((client === undefined) === (url === undefined)) throw new Error(SESSION_REDIS_MODULE_ERROR_MESSAGES.clientOrUrl);
  if (client !== undefined) {
    const adapted = isSessionRedisClient(client) ? client : nodeRedisClient(client);
    return { store: new RedisSessionStore(adapted, storeOptions) };
  }
  const owned = await connectSessionRedis(url as string);
  try {
    return { store: new RedisSessionStore(nodeRedisClient(owned), storeOptions), owned };
  } catch (error) {
    await owned.close();
    throw error;
  }
}

/** Closes the client the module connected itself (never the app's). */
@Injectable()
class SessionRedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(STORE_HANDLE) private readonly handle: StoreHandle) {}

  async onApplicationShutdown(): Promise<void> {
    const owned = this.handle.owned;
    this.handle.owned = undefined;
    if (owned) await owned.close().catch(() => owned.destroy());
  }
}

/**
 * Provides `RedisSessionStore`. Hand it to `SessionModule.forRootAsync({ imports:
 * [SessionRedisModule.forRoot({ client })], inject: [RedisSessionStore], useFactory:
 * (store) => ({ store, ... }) })`.
 */
@Module({})
export class SessionRedisModule {
  /** The store on the app's client, or on a client the module connects to `url`. */
  static forRoot(options: SessionRedisModuleOptions): DynamicModule {
    return SessionRedisModule.forRootAsync({ useFactory: () => options });
  }

  /** Same, with options from a factory (configuration, the app's client provider). */
  static forRootAsync(options: SessionRedisModuleAsyncOptions): DynamicModule {
    return {
      module: SessionRedisModule,
      imports: options.imports ?? [],
      providers: [
        {
          provide: STORE_HANDLE,
          inject: options.inject ?? [],
          useFactory: async (...args: never[]) => openStore(await options.useFactory(...args)),
        },
        { provide: RedisSessionStore, inject: [STORE_HANDLE], useFactory: (handle: StoreHandle) => handle.store },
        SessionRedisShutdown,
      ],
      exports: [RedisSessionStore],
    };
  }
}
