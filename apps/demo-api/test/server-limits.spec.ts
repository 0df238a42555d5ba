import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { startDemoApp } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

/** A raw TCP connection to the app and everything it has received so far. */
interface RawClient {
  socket: Socket;
  received: () => string;
  /** Resolves with the time the server closed it (any socket error counts as closed). */
  closed: Promise<number>;
}

async function rawClient(url: string): Promise<RawClient> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  let received = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => {
    received += chunk;
  });
  const closed = new Promise<number>((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Date.now()));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => received, closed };
}

/** Waits until `condition` holds, polling; fails after `timeoutMs` (generous: the machine is shared). */
async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function openConnections(server: Server): Promise<number> {
  return new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

const HEALTH_REQUEST = 'GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n';

describe('finding 9: explicit HTTP server limits', () => {
  it('applies the defaults: headers 10s, request 30s, keep-alive 5s, no connection limit', async () => {
    const demo = await startDemoApp();
    try {
      const server: Server = demo.app.getHttpServer();
      expect({
        headersTimeout: server.headersTimeout,
        requestTimeout: server.requestTimeout,
        keepAliveTimeout: server.keepAliveTimeout,
        maxConnections: server.maxConnections,
      }).toEqual({ headersTimeout: 10_000, requestTimeout: 30_000, keepAliveTimeout: 5_000, maxConnections: undefined });
    } finally {
      await demo.close();
    }
  });

  describe('HEADERS_TIMEOUT=1s', () => {
    let demo: DemoApp;

    beforeAll(async () => {
      demo = await startDemoApp({ HEADERS_TIMEOUT: '1s', REQUEST_TIMEOUT: '2s', KEEP_ALIVE_TIMEOUT: '1500ms' });
    });

    afterAll(async () => {
      await demo.close();
    });

    it('sets the values on the running server', () => {
      const server: Server = demo.app.getHttpServer();
      expect([server.headersTimeout, server.requestTimeout, server.keepAliveTimeout]).toEqual([1_000, 2_000, 1_500]);
    });

    it('disconnects a client that never finishes its headers (slowloris) with 408', async () => {
      const client = await rawClient(demo.url);
      const start = Date.now();
      client.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
      // Node only checks the timeout every connectionsCheckingInterval (30 s unless set):
      // 20 s is a generous bound that still proves it is enforced near 1 s.
      let timer: NodeJS.Timeout | undefined;
      const closedAt = await Promise.race([
        client.closed,
        new Promise<number>((resolve) => (timer = setTimeout(() => resolve(Number.NaN), 20_000))),
      ]);
      clearTimeout(timer);
      client.socket.destroy();
      expect(Number.isNaN(closedAt)).toBe(false);
      expect(closedAt - start).toBeGreaterThanOrEqual(500);
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    }, 40_000);
  });

  describe('MAX_CONNECTIONS=1', () => {
    let demo: DemoApp;

    beforeAll(async () => {
      // Long timeouts, so that nothing but the limit closes a connection during the test.
      demo = await startDemoApp({ MAX_CONNECTIONS: '1', HEADERS_TIMEOUT: '10m', REQUEST_TIMEOUT: '10m', KEEP_ALIVE_TIMEOUT: '10m' });
    });

    afterAll(async () => {
      await demo.close();
    });

    it('drops a second connection while the first is open, and serves again once it closes', async () => {
      const server: Server = demo.app.getHttpServer();
      expect(server.maxConnections).toBe(1);
      const drops: unknown[] = [];
      server.on('drop', (data) => drops.push(data));

      const first = await rawClient(demo.url);
      first.socket.write(HEALTH_REQUEST);
      await until(() => /\r\n\r\n/.test(first.received()), 20_000, 'the first response');
      expect(first.received()).toMatch(/^HTTP\/1\.1 200 /);

      // The first connection is idle but open (keep-alive): the second one is dropped.
      const second = await rawClient(demo.url).catch(() => undefined);
      if (second) {
        second.socket.write(HEALTH_REQUEST);
        await second.closed;
        expect(second.received()).toBe('');
      }
      await until(() => drops.length === 1, 20_000, "the server's drop event");

      first.socket.end();
      await first.closed;
      await until(async () => (await openConnections(server)) === 0, 20_000, 'the first connection to close');

      const third = await rawClient(demo.url);
      third.socket.write(HEALTH_REQUEST);
      await until(() => /\r\n\r\n/.test(third.received()), 20_000, 'the third response');
      expect(third.received()).toMatch(/^HTTP\/1\.1 200 /);
      third.socket.destroy();
    }, 60_000);
  });
});
