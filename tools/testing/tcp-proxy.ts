import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/** A TCP proxy between an app and a server, which a test can cut or stall. */
export interface TcpProxy {
  /** The local port to point the app at (127.0.0.1). */
  readonly port: number;
  /** Closes every open connection and refuses new ones, as a server that went away. */
  cut(): void;
  /** Keeps connections open but forwards nothing either way, as a server that hangs. */
  stall(): void;
  /** Back to forwarding; stalled bytes are delivered, cut connections stay closed. */
  restore(): void;
  /** Stops the proxy. */
  close(): Promise<void>;
}

/**
 * Starts a proxy on a free port of 127.0.0.1 to `target`. Faults are real: a cut closes
 * the sockets (the client sees ECONNRESET / refused connections), a stall leaves them
 * open with nothing flowing (the client's own timeouts must fire).
 */
export async function startTcpProxy(target: { host?: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let state: 'open' | 'cut' | 'stalled' = 'open';

  const server = createServer((client) => {
    if (state === 'cut') {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.host ?? '127.0.0.1', port: target.port });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
    if (state === 'stalled') pause(pair);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  const pause = ([client, upstream]: [Socket, Socket]) => {
    client.unpipe(upstream);
    upstream.unpipe(client);
    client.pause();
    upstream.pause();
  };
  const resume = ([client, upstream]: [Socket, Socket]) => {
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
    upstream.resume();
  };

  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      state = 'cut';
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    stall() {
      if (state === 'stalled') return;
      state = 'stalled';
      for (const pair of pairs) pause(pair);
    },
    restore() {
      if (state === 'stalled') for (const pair of pairs) resume(pair);
      state = 'open';
    },
    async close() {
      state = 'cut';
      for (const [client, upstream] of pairs) {
        client.destroy();
        upstream.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
