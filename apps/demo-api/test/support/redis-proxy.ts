import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/** A TCP proxy in front of a Redis server, to cut an app's connections to it as a network failure would. */
export interface RedisProxy {
  /** A redis:// URL of the proxy, for REDIS_URL. */
  url: string;
  /** Drops every connection through the proxy and refuses new ones until `resume()`. */
  interrupt(): void;
  /** Accepts connections again (clients reconnect by themselves). */
  resume(): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free port of 127.0.0.1 forwarding to the Redis server of `target` (a redis:// URL). */
export async function startRedisProxy(target: string): Promise<RedisProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect(Number(port || 6379), hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `redis://127.0.0.1:${address.port}`,
    interrupt: () => {
      refusing = true;
      dropAll();
    },
    resume: () => {
      refusing = false;
    },
    close: async () => {
      refusing = true;
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
