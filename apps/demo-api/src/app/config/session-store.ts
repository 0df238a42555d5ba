import type { EnvReader } from './server-limits';

/** Where sessions, the revocation feed and login-attempt counters live (users and audit are always in PostgreSQL). */
export type SessionStoreKind = 'postgres' | 'redis';

/** The session store's settings: SESSION_STORE, REDIS_URL, REDIS_KEY_PREFIX and STORE_TIMEOUT. */
export interface SessionStoreConfig {
  kind: SessionStoreKind;
  /** The Redis server, or one node of a cluster; set whenever `kind` is `redis`. */
  redisUrl: string | undefined;
  /** Prefix of the demo's Redis keys and channels; instances that share sessions use the same one. */
  redisKeyPrefix: string;
  /**
   * STORE_TIMEOUT: longest wait for one store call before it fails as unavailable (503). The
   * Redis store applies it to every command; on PostgreSQL it is not applied yet.
   */
  timeoutMs: number;
}

const KINDS: readonly string[] = ['postgres', 'redis'];
/** Node's timers hold at most 2^31 - 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const REDIS_URL_HINT = 'a redis:// or rediss:// URL (redis://127.0.0.1:6379, rediss://:password@host:6380 for TLS)';

/** Whether `raw` is a Redis URL node-redis can connect to. Never echoed: it may hold a password. */
function isRedisUrl(raw: string): boolean {
  if (!/^rediss?:\/\//i.test(raw)) return false;
  try {
    return new URL(raw).hostname !== '';
  } catch {
    return false;
  }
}

/** Reads the session store's settings, adding a problem naming each bad variable. */
export function readSessionStore(env: EnvReader, problems: string[], warnings: string[]): SessionStoreConfig {
  const redisUrl = env.value('REDIS_URL');
  if (redisUrl !== undefined && !isRedisUrl(redisUrl)) problems.push(`REDIS_URL must be ${REDIS_URL_HINT}.`);

  const rawKind = env.value('SESSION_STORE');
  let kind: SessionStoreKind = redisUrl === undefined ? 'postgres' : 'redis';
  if (rawKind !== undefined) {
    if (KINDS.includes(rawKind)) kind = rawKind as SessionStoreKind;
    else problems.push(`SESSION_STORE must be "postgres" or "redis" (got "${rawKind}").`);
  }
  if (kind === 'redis' && redisUrl === undefined) {
    problems.push(`SESSION_STORE=redis needs REDIS_URL: set REDIS_URL to ${REDIS_URL_HINT}, or SESSION_STORE=postgres to keep sessions in PostgreSQL.`);
  }
  if (kind === 'postgres' && redisUrl !== undefined && rawKind !== undefined) {
    warnings.push('REDIS_URL is set but SESSION_STORE=postgres: Redis is not used.');
  }

  const redisKeyPrefix = env.value('REDIS_KEY_PREFIX') ?? 'tessera';
  // The store's keys put their hash tags in braces; a brace in the prefix would move them.
  if (!/^[\w.:-]{1,64}$/.test(redisKeyPrefix)) {
    problems.push(`REDIS_KEY_PREFIX must be 1 to 64 letters, digits or . _ : - (got "${redisKeyPrefix}").`);
  }

  // Malformed values, 0 included, are reported by `duration`.
  const timeoutMs = env.duration('STORE_TIMEOUT', '2s');
  if (timeoutMs > MAX_TIMER_MS) problems.push(`STORE_TIMEOUT must be at most 24d (got "${env.value('STORE_TIMEOUT')}").`);

  return { kind, redisUrl, redisKeyPrefix, timeoutMs };
}
