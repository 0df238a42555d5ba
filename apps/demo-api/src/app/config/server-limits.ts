import type { Server } from 'node:http';

/** Limits of the Node HTTP server, from HEADERS_TIMEOUT, REQUEST_TIMEOUT, KEEP_ALIVE_TIMEOUT and MAX_CONNECTIONS. */
export interface ServerLimits {
  /** Longest wait for a request's complete headers (slowloris). */
  headersTimeoutMs: number;
  /** Longest wait for a whole request, headers and body. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** Most open connections at once; undefined for no limit. */
  maxConnections: number | undefined;
}

/** Node's timers hold at most 2^31 - 1 ms; a longer socket timeout silently becomes 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How loadConfig reads the environment: a trimmed value or undefined, and a checked duration. */
export interface EnvReader {
  value(name: string): string | undefined;
  duration(name: string, fallback: string): number;
}

/** Reads the server limits, adding a problem naming each bad variable. */
export function readServerLimits(env: EnvReader, problems: string[]): ServerLimits {
  const timeout = (name: string, fallback: string): number => {
    const ms = env.duration(name, fallback);
    if (ms > MAX_TIMER_MS) problems.push(`${name} must be at most 24d (got "${env.value(name)}").`);
    return ms;
  };
  const headersTimeoutMs = timeout('HEADERS_TIMEOUT', '10s');
  const requestTimeoutMs = timeout('REQUEST_TIMEOUT', '30s');
  const keepAliveTimeoutMs = timeout('KEEP_ALIVE_TIMEOUT', '5s');
  // Node refuses the same relation when these are passed to http.createServer (0: already reported as malformed).
  if (headersTimeoutMs > requestTimeoutMs && requestTimeoutMs > 0) {
    problems.push('HEADERS_TIMEOUT must not exceed REQUEST_TIMEOUT (the headers are part of the request).');
  }
  const rawMax = env.value('MAX_CONNECTIONS');
  const maxConnections = rawMax === undefined ? undefined : /^\d{1,9}$/.test(rawMax) ? Number(rawMax) : Number.NaN;
  if (maxConnections !== undefined && !(maxConnections >= 1)) {
    problems.push(`MAX_CONNECTIONS must be a positive integer, or unset for no limit (got "${rawMax}").`);
  }
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections };
}

/**
 * Applies the limits to the server; call before listen. Node checks the headers and
 * request timeouts only every `connectionsCheckingInterval` (30 s by default, read when
 * the server starts listening), so a 10 s HEADERS_TIMEOUT would really be up to 40 s:
 * the interval is tied to the headers timeout so a slow client is cut within 1.5x of it.
 */
export function applyServerLimits(server: Server, limits: ServerLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // A createServer option that Node keeps as a property and reads on 'listening'.
  (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(
    30_000,
    Math.max(250, Math.floor(limits.headersTimeoutMs / 2)),
  );
  if (limits.maxConnections !== undefined) server.maxConnections = limits.maxConnections;
}
