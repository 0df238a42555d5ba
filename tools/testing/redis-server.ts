// Throwaway redis-server processes for tests that need a Redis of their own: one they may
// stop, kill and restart (outage tests), or the nodes of a test cluster (redis-cluster.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { answersPing, redisCommands } from './redis-command';

/** How `startRedisServer` runs the server. */
export interface RedisServerOptions {
  /**
   * Keep the data across `stop()`/`kill()` and `start()`: append-only file, fsync on every
   * write, so even a killed server comes back with every acknowledged write. Default false
   * (`--save "" --appendonly no`: a restarted server is empty).
   */
  persistence?: boolean;
  /** More `redis-server` arguments (`['--maxmemory', '1mb']`); the server must still answer PING without AUTH. */
  args?: string[];
  /** How long a start or a stop may take before it fails, in ms. Default 20 000. */
  timeoutMs?: number;
}

/** A redis-server of the test's own, on 127.0.0.1 and a free port. */
export interface RedisTestServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** The port; the same after every restart. */
  readonly port: number;
  /** The server's temporary working directory (log, and data with `persistence`), removed by `close()`. */
  readonly dir: string;
  /** Whether the process is running (it may still be loading its data). */
  readonly running: boolean;
  /** Shuts the server down gracefully (SIGTERM) and waits until the process is gone. Does nothing when stopped. */
  stop(): Promise<void>;
  /** Starts it again on the same port and waits until it answers PING. Does nothing when running. */
  start(): Promise<void>;
  /** Kills the process (SIGKILL, as a crash would) and waits until it is gone. */
  kill(): Promise<void>;
  /** Stops the server for good and removes its directory. Call it in `afterAll`. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 20_000;
/** Between two checks of a starting server: a poll interval, not a guess at how long it takes. */
const POLL_MS = 50;

/** Thrown when the port was taken between choosing it and the server binding it. */
export class RedisPortInUseError extends Error {}

/** A server listening on 127.0.0.1:port (0: any free port), or undefined when that port is taken. */
function listenOn(port: number): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(server));
  });
}

function close(servers: Array<Server | undefined>): Promise<void> {
  return Promise.all(servers.map((server) => server && new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined);
}

/**
 * `count` distinct ports free on 127.0.0.1 right now (the system picks them: bind port 0).
 * With `clusterBus`, port+10000 is free too, as a cluster node listens there for its bus.
 * Another process may still take one before the caller binds it: callers retry on
 * `RedisPortInUseError`.
 */
export async function freePorts(count: number, { clusterBus = false } = {}): Promise<number[]> {
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let attempt = 0; ports.length < count; attempt++) {
      if (attempt > 200) throw new Error(`could not find ${count} free ports${clusterBus ? ' with their cluster bus ports' : ''}`);
      const server = await listenOn(0);
      if (!server) continue;
      held.push(server);
      const port = (server.address() as { port: number }).port;
      if (!clusterBus) {
        ports.push(port);
        continue;
      }
      if (port + 10_000 > 65_535) continue;
      const bus = await listenOn(port + 10_000);
      if (!bus) continue;
      held.push(bus);
      ports.push(port);
    }
    return ports;
  } finally {
    await close(held);
  }
}

/** Cleanups of every server this process started, run even when a test forgets `close()`. */
const leftovers = new Set<() => void>();
let exitHookInstalled = false;
function onProcessExit(cleanup: () => void): () => void {
  leftovers.add(cleanup);
  const forget = () => void leftovers.delete(cleanup);
  if (exitHookInstalled) return forget;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const leftover of leftovers) leftover();
  });
  return forget;
}

/** The end of the server's log, for an error message. */
function logTail(dir: string): string {
  try {
    const lines = readFileSync(join(dir, 'redis.log'), 'utf8').trimEnd().split('\n');
    return lines.slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Internal: how a server picks its port and what more it runs with (cluster nodes). */
export interface RedisProcessOptions extends RedisServerOptions {
  /** Also needs port+10000 free (a cluster node's bus). */
  clusterBus?: boolean;
  /** Prefix of the temporary directory's name. */
  dirPrefix?: string;
}

/**
 * Runs redis-server under a small sh that takes it (and its directory) down when this
 * process dies without cleaning up (a Jest worker force-killed after a timeout): the sh
 * waits on its stdin, a pipe from this process, which the kernel closes when we die. It
 * prints the server's pid first, and exits with the server's exit status.
 */
const WATCHDOG = [
  'dir=$1; shift',
  'exec 3<&0',
  'redis-server "$@" >/dev/null 2>&1 </dev/null 3<&- & server=$!',
  'echo "$server"',
  // Once woken, it ignores the TERM below: the server's death ends the wait before the rm.
  `(read _ <&3; trap '' TERM; kill -KILL "$server" 2>/dev/null; rm -rf "$dir") & watchdog=$!`,
  'wait "$server"; status=$?',
  'kill "$watchdog" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** The exit status sh gives a command it cannot find. */
const NOT_FOUND = 127;

class RedisProcess implements RedisTestServer {
  readonly dir: string;
  port = 0;
  /** The watchdog sh, while the server runs. */
  private child: ChildProcess | undefined;
  /** The redis-server's own pid, which the signals go to. */
  private pid: number | undefined;
  private exited: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly timeoutMs: number;
  private readonly forgetAtExit: () => void;

  constructor(private readonly options: RedisProcessOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.dir = mkdtempSync(join(tmpdir(), options.dirPrefix ?? 'tessera-redis-'));
    this.forgetAtExit = onProcessExit(() => {
      this.signalServer('SIGKILL');
      rmSync(this.dir, { recursive: true, force: true });
    });
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** First start: on a free port, another one when that port was taken meanwhile. */
  async open(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      [this.port] = await freePorts(1, { clusterBus: this.options.clusterBus });
      try {
        return await this.start();
      } catch (error) {
        if (!(error instanceof RedisPortInUseError) || attempt >= 5) throw error;
      }
    }
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error(`the Redis server on port ${this.port} is closed`);
    if (this.child) return;
    const persistence = this.options.persistence
      ? ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always']
      : ['--save', '', '--appendonly', 'no'];
    const args = [
      ...['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--logfile', join(this.dir, 'redis.log')],
      ...persistence,
      ...(this.options.args ?? []),
    ];
    const child = spawn('sh', ['-c', WATCHDOG, 'sh', this.dir, ...args], { stdio: ['pipe', 'pipe', 'ignore'] });
    let exitCode: number | null | undefined;
    let spawnError: Error | undefined;
    this.child = child;
    this.pid = undefined;
    let firstLine = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (this.pid !== undefined) return;
      firstLine += chunk;
      if (firstLine.includes('\n')) this.pid = Number(firstLine.trim());
    });
    this.exited = new Promise<void>((resolve) => {
      child.once('error', (error) => {
        spawnError = error;
        exitCode = null;
        resolve();
      });
      child.once('exit', (code, signal) => {
        exitCode = code ?? (signal ? 128 : null);
        resolve();
      });
    }).then(() => {
      child.stdin?.destroy();
      child.stdout?.destroy();
      if (this.child === child) {
        this.child = undefined;
        this.pid = undefined;
      }
    });

    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      if (exitCode !== undefined) {
        if (spawnError) throw new Error(`cannot run sh to start redis-server: ${spawnError.message}`, { cause: spawnError });
        if (exitCode === NOT_FOUND) throw new Error('redis-server is not installed (Debian: apt-get install redis-server)');
        const log = logTail(this.dir);
        if (/address already in use/i.test(log)) throw new RedisPortInUseError(`port ${this.port} is taken:\n${log}`);
        throw new Error(`redis-server on port ${this.port} exited with code ${exitCode} while starting:\n${log}`);
      }
      if (this.pid !== undefined) {
        try {
          const [reply] = await redisCommands({ host: '127.0.0.1', port: this.port }, [['PING']], 1_000);
          if (answersPing(reply)) return;
        } catch {
          // Not listening yet.
        }
      }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`redis-server on port ${this.port} did not answer PING within ${this.timeoutMs} ms:\n${logTail(this.dir)}`);
      }
      await delay(POLL_MS);
    }
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
    this.forgetAtExit();
  }

  /** Sends the signal to the server; before its pid is known, the watchdog kills it instead. */
  private signalServer(signal: NodeJS.Signals): void {
    if (this.pid === undefined) {
      this.child?.stdin?.destroy();
      return;
    }
    try {
      process.kill(this.pid, signal);
    } catch {
      // Already gone.
    }
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    if (!this.child) return;
    this.signalServer(signal);
    const timer = new AbortController();
    const gone = await Promise.race([
      this.exited.then(() => true),
      delay(this.timeoutMs, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (gone) return;
    // A graceful shutdown that hangs must not hang the test run too.
    this.signalServer('SIGKILL');
    await this.exited;
  }
}

/** Internal (redis-cluster.ts): a started server with more options. */
export async function startRedisProcess(options: RedisProcessOptions): Promise<RedisTestServer> {
  const server = new RedisProcess(options);
  try {
    await server.open();
  } catch (error) {
    await server.close();
    throw error;
  }
  return server;
}

/**
 * Starts a standalone redis-server of the caller's own on a free port, in a temporary
 * directory, without persistence unless asked, and resolves once it answers PING. The
 * caller owns it: `stop()`/`kill()` and `start()` simulate outages; `close()` ends it.
 */
export function startRedisServer(options: RedisServerOptions = {}): Promise<RedisTestServer> {
  return startRedisProcess(options);
}
