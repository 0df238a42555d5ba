import { randomBytes } from 'node:crypto';
import { SessionConfigError, validateSessionOptions } from '@tessera/session';
import type { SessionModuleOptions } from '@tessera/session';

/** SessionModule options as the environment gives them; AppModule adds the store and the clock. */
export type SessionEnvOptions = Omit<SessionModuleOptions, 'store' | 'clock'>;

/** The variable behind each SessionModule option the demo sets (access-token keys: see `envVarOf`). */
const OPTION_ENV: Readonly<Record<string, string>> = {
  jwtSecret: 'JWT_SECRET',
  sessionSecret: 'SESSION_SECRET',
  accessTokenTtl: 'ACCESS_TOKEN_TTL',
  idleTimeout: 'SESSION_IDLE_TIMEOUT',
  absoluteTimeout: 'SESSION_ABSOLUTE_TIMEOUT',
  refreshReuseGrace: 'REFRESH_REUSE_GRACE',
  freshSessionMaxAge: 'FRESH_SESSION_MAX_AGE',
  maxSessionsPerUser: 'MAX_SESSIONS_PER_USER',
  revocationMode: 'REVOCATION_MODE',
  'csrf.allowedOrigins': 'ALLOWED_ORIGINS',
  'cleanup.cron': 'CLEANUP_CRON',
  'cookies.secure': 'COOKIE_SECURE',
};

/** Where the demo's grammar differs from the option's, what the library's message cannot say. */
const ENV_HINTS: Readonly<Record<string, string>> = {
  REFRESH_REUSE_GRACE: '0s turns the grace window off.',
  CLEANUP_CRON: '"off" schedules no cleanup.',
};

/** The demo's HS256 key comes from JWT_SECRET, its Ed25519 pair from JWT_PRIVATE_KEY / JWT_PUBLIC_KEY. */
const KEY_OPTION = /^keys\[\d+\](?:\.(secret|privateKey|publicKey))?$/;

/** The environment variable behind a SessionModule option the demo sets; undefined for any other. */
export function envVarOf(option: string): string | undefined {
  const key = KEY_OPTION.exec(option);
  if (!key) return OPTION_ENV[option];
  if (key[1] === 'secret') return 'JWT_SECRET';
  // A bare `keys[i]` is the Ed25519 pair as a whole (its public key does not match the private one).
  return key[1] === 'privateKey' ? 'JWT_PRIVATE_KEY' : 'JWT_PUBLIC_KEY';
}

/**
 * The library's refusal as a boot problem naming the environment variable: the
 * message's `SessionModule option "idleTimeout"` becomes `SESSION_IDLE_TIMEOUT`, and
 * so does every other option it mentions, outside the echoed value. The library's
 * messages never hold a secret, so neither does this.
 */
export function describeSessionConfigError(error: SessionConfigError): string {
  const name = error.option === undefined ? undefined : envVarOf(error.option);
  if (name === undefined) return error.message;
  const prefix = `SessionModule option "${error.option}"`;
  const reason = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : `: ${error.message}`;
  const got = reason.indexOf(' (got ');
  const text = (got < 0 ? reason : reason.slice(0, got)).replace(
    /"([\w.[\]]+)"/g,
    (quoted, option: string) => envVarOf(option) ?? quoted,
  );
  const hint = ENV_HINTS[name];
  return `${name}${text}${got < 0 ? '' : reason.slice(got)}${hint ? ` ${hint}` : ''}`;
}

/** A random key of 48 bytes (base64url): development secrets, and stand-ins for refused ones. */
export function randomSecret(): string {
  return randomBytes(48).toString('base64url');
}

/**
 * The options with a stand-in for a refused one, so the library can check the rest;
 * undefined when the option has none. A stand-in cannot make another option look
 * wrong: a fresh random key, the library's default, or a lifetime that keeps
 * accessTokenTtl <= idleTimeout <= absoluteTimeout true whatever the others are.
 */
function withStandIn(options: SessionEnvOptions, option: string): SessionEnvOptions | undefined {
  const key = /^keys\[(\d+)\]/.exec(option);
  if (key) {
    const keys = [...(options.keys ?? [])];
    keys[Number(key[1])] = { algorithm: 'HS256', secret: randomSecret() };
    return { ...options, keys };
  }
  switch (option) {
    case 'jwtSecret':
    case 'sessionSecret':
      return { ...options, [option]: randomSecret() };
    case 'accessTokenTtl':
      return { ...options, accessTokenTtl: 1 };
    case 'idleTimeout':
    case 'absoluteTimeout':
      return { ...options, [option]: Number.MAX_SAFE_INTEGER };
    case 'refreshReuseGrace':
    case 'freshSessionMaxAge':
    case 'maxSessionsPerUser':
    case 'revocationMode':
      return { ...options, [option]: undefined };
    case 'csrf.allowedOrigins':
      return { ...options, csrf: { ...options.csrf, allowedOrigins: undefined } };
    case 'cleanup.cron':
      return { ...options, cleanup: { ...options.cleanup, cron: undefined } };
    default:
      return undefined;
  }
}

/**
 * Validates the options with the library's own `validateSessionOptions`, the check
 * SessionModule repeats at boot, adding each refusal to `problems` by its variable.
 * The library stops at its first problem, so each refused option is replaced by a
 * stand-in and the rest checked again; an option refused twice (by a relation a
 * stand-in broke) ends the search. Returns true when nothing is wrong.
 */
export function checkSessionOptions(options: SessionEnvOptions, problems: string[]): boolean {
  const refused = new Set<string>();
  let candidate: SessionEnvOptions | undefined = options;
  while (candidate) {
    try {
      validateSessionOptions(candidate);
      return refused.size === 0;
    } catch (error) {
      if (!(error instanceof SessionConfigError)) throw error;
      const option = error.option;
      if (option !== undefined && refused.has(option)) return false;
      problems.push(describeSessionConfigError(error));
      if (option === undefined) return false;
      refused.add(option);
      candidate = withStandIn(candidate, option);
    }
  }
  return false;
}
