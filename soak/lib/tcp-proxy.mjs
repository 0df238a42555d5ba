// A TCP proxy between the demo instances and PostgreSQL that the soak can cut: the
// plain-Node twin of tools/testing/tcp-proxy.ts (cut and restore only), so the soak needs
// no TypeScript runtime. A cut closes every open connection and refuses new ones, as a
// server that went away; restore forwards again (cut connections stay closed).
import { connect, createServer } from 'node:net';

/** Starts a proxy on a free port of 127.0.0.1 to `target` ({ host, port }). */
export async function startTcpProxy(target) {
  const pairs = new Set();
  let state = 'open';
  const server = createServer((client) => {
    if (state === 'cut') {
      client.destroy();
      return;
    }
    const upstream = connect({ host: target.host ?? '127.0.0.1', port: target.port });
    const pair = [client, upstream];
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
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const destroyAll = () => {
    for (const [client, upstream] of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port: server.address().port,
    /** Closes every open connection and refuses new ones. */
    cut() {
      state = 'cut';
      destroyAll();
    },
    /** Forwards new connections again. */
    restore() {
      state = 'open';
    },
    /** Stops the proxy. */
    async close() {
      state = 'cut';
      destroyAll();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
