import { createHash, createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CONFIG_ERROR_MESSAGES } from '../constants';
import { SessionConfigError } from '../exceptions/session-config.error';
import { systemClock } from '../interfaces/clock.interface';
import type { SessionClock } from '../interfaces/clock.interface';
import type { AccessTokenAlgorithm, Duration, SessionModuleOptions } from '../interfaces/session-module-options.interface';
import type { SessionStore } from '../interfaces/session-store.interface';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { parseDuration } from '../utils/duration';

/** Options after defaults are merged and every value is checked; what services inject. */
export interface ResolvedSessionOptions {
  store: SessionStore;
  algorithm: AccessTokenAlgorithm;
  /** Access-token signing key, held as a KeyObject (jsonwebtoken skips its slow key parsing then). */
  jwtKey: KeyObject;
  jwtKeyId: string;
  /** Key for the server's own HMACs. */
  sessionKey: KeyObject;
  issuer: string;
  audience: string;
  accessTokenTtlMs: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  clockSkewMs: number;
  cookies: {
    secure: boolean;
    accessTokenName: string;
    refreshTokenName: string;
    refreshTokenPath: string;
  };
  clock: SessionClock;
}

/** Injection token of `ResolvedSessionOptions`. */
export const RESOLVED_SESSION_OPTIONS = Symbol('ResolvedSessionOptions');

const ALGORITHMS: readonly AccessTokenAlgorithm[] = ['HS256'];
const STORE_METHODS = ['create', 'findById', 'rotateRefresh', 'revoke', 'listByUser', 'revokeByUser'] as const;
const MIN_KEY_BYTES = 32;

function keyBytes(option: string, value: string | Buffer | undefined): Buffer {
  if (value === undefined || value === null || value === '') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.secretMissing(option));
  }
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  if (bytes.length < MIN_KEY_BYTES) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.secretTooShort(option, bytes.length));
  }
  return bytes;
}

function duration(option: string, value: Duration | undefined, fallback: string): number {
  const ms = parseDuration(value ?? fallback);
  if (ms === undefined) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badDuration(option, value));
  return ms;
}

function nonEmpty(option: string, value: string | undefined, fallback: string): string {
  const result = value ?? fallback;
  if (typeof result !== 'string' || result.trim() === '') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badString(option));
  }
  return result;
}

/**
 * Merges defaults into the user's options and validates them. Used by both
 * `forRoot` and `forRootAsync`; a bad value throws `SessionConfigError` and stops the boot.
 */
export function resolveSessionOptions(options: SessionModuleOptions): ResolvedSessionOptions {
  const algorithm = options.algorithm ?? 'HS256';
  if (!ALGORITHMS.includes(algorithm)) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.unknownAlgorithm(algorithm));
  }
  const jwtBytes = keyBytes('jwtSecret', options.jwtSecret);
  const sessionBytes = keyBytes('sessionSecret', options.sessionSecret);
  if (jwtBytes.equals(sessionBytes)) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.secretsEqual);

  const accessTokenTtlMs = duration('accessTokenTtl', options.accessTokenTtl, '10m');
  const idleTimeoutMs = duration('idleTimeout', options.idleTimeout, '7d');
  const absoluteTimeoutMs = duration('absoluteTimeout', options.absoluteTimeout, '30d');
  const clockSkewMs = options.clockSkew === 0 ? 0 : duration('clockSkew', options.clockSkew, '5s');
  if (idleTimeoutMs > absoluteTimeoutMs) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.idleOverAbsolute);
  if (accessTokenTtlMs > idleTimeoutMs) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.ttlOverIdle);

  const store = options.store ?? new InMemorySessionStore();
  if (STORE_METHODS.some((method) => typeof (store as unknown as Record<string, unknown>)[method] !== 'function')) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badStore);
  }

  const cookies = options.cookies ?? {};
  const refreshTokenPath = nonEmpty('cookies.refreshTokenPath', cookies.refreshTokenPath, '/auth');
  if (!refreshTokenPath.startsWith('/')) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badCookiePath);

  return {
    store,
    algorithm,
    jwtKey: createSecretKey(jwtBytes),
    // A kid that names the key without revealing it: a truncated hash.
    jwtKeyId: options.jwtKeyId
      ? nonEmpty('jwtKeyId', options.jwtKeyId, '')
      : createHash('sha256').update(jwtBytes).digest('base64url').slice(0, 12),
    sessionKey: createSecretKey(sessionBytes),
    issuer: nonEmpty('issuer', options.issuer, 'tessera'),
    audience: nonEmpty('audience', options.audience, 'tessera'),
    accessTokenTtlMs,
    idleTimeoutMs,
    absoluteTimeoutMs,
    clockSkewMs,
    cookies: {
      secure: cookies.secure ?? true,
      accessTokenName: nonEmpty('cookies.accessTokenName', cookies.accessTokenName, 'tessera-at'),
      refreshTokenName: nonEmpty('cookies.refreshTokenName', cookies.refreshTokenName, 'tessera-rt'),
      refreshTokenPath,
    },
    clock: options.clock ?? systemClock,
  };
}
