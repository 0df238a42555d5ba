import { createPrivateKey } from 'node:crypto';
import { parseDuration } from '@tessera/session';
import type { AccessTokenKeyOptions, RevocationMode } from '@tessera/session';
import { checkSessionOptions, randomSecret } from './session-env';
import type { SessionEnvOptions } from './session-env';
import { parseTrustProxy, TRUST_PROXY_HINT } from './trust-proxy';
import type { TrustProxy } from './trust-proxy';
import { readServerLimits } from './server-limits';
import type { ServerLimits } from './server-limits';
import { readSessionStore } from './session-store';
import type { SessionStoreConfig } from './session-store';

/** The HTTP platforms the demo runs on. */
export const HTTP_ADAPTERS = ['express', 'fastify'] as const;
/** One of `HTTP_ADAPTERS`. */
export type HttpAdapterName = (typeof HTTP_ADAPTERS)[number];

/** The demo's whole configuration, mapped from the environment in one place (`loadConfig`). */
export class AppConfig {
  production: boolean;
  host: string;
  port: number;
  /** PostgreSQL URL; undefined means "start the embedded server in `dataDir`". */
  databaseUrl: string | undefined;
  /** Where the embedded server keeps its data. */
  dataDir: string;
  /** Where the demo page's built assets are (WEB_ROOT; relative paths from the working directory, as DATA_DIR). */
  webRoot: string;
  /** Where sessions, the revocation feed and login-attempt counters live (SESSION_STORE, REDIS_URL, STORE_TIMEOUT). */
  store: SessionStoreConfig;
  /** SessionModule options from the environment, already checked by the library; AppModule adds the store and clock. */
  session: SessionEnvOptions;
  /** COOKIE_SECURE, which also names the cookies in the OpenAPI document and shapes the CSP. */
  cookieSecure: boolean;
  /** ALLOWED_ORIGINS as the library normalised them; CORS allows the same origins. */
  allowedOrigins: string[];
  adminEmails: Set<string>;
  loginRateLimit: number;
  /** Which proxies may name the client in `X-Forwarded-For` (TRUST_PROXY): Express's `trust proxy` setting. */
  trustProxy: TrustProxy;
  /** Mounts `GET /bench/me`, the baseline route of `npm run bench` (BENCH_ROUTES=true). */
  benchRoutes: boolean;
  /** `json`: one JSON object per log line (Nest's JSON console logger); `text`: Nest's coloured lines. */
  logFormat: 'json' | 'text';
  /** The HTTP platform (HTTP_ADAPTER): `express` (the default) or `fastify`; the API answers the same on both. */
  httpAdapter: HttpAdapterName;
  /** HTTP server limits: HEADERS_TIMEOUT, REQUEST_TIMEOUT, KEEP_ALIVE_TIMEOUT, MAX_CONNECTIONS. */
  serverLimits: ServerLimits;
  /** METRICS=on: Prometheus metrics at `GET /metrics` (the session library's OpenTelemetry metrics). */
  metrics: boolean;
  /** Things worth a warning at boot (generated development secrets, ...). */
  warnings: string[];
}

/** A configuration problem found at boot; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Where `nx run demo-api:build-web` writes the demo page (from the repository's root, where `npm start` runs). */
export const DEFAULT_WEB_ROOT = 'dist/apps/demo-web';

const MIN_SECRET_BYTES = 32;
const ED25519_HINT = 'an Ed25519 key in PEM form (openssl genpkey -algorithm ed25519 -out jwt.pem; openssl pkey -in jwt.pem -pubout)';
const WHOLE_NUMBER = /^\d{1,9}$/;

/** A PEM from the environment: .env files often hold it on one line with literal `\n` sequences. */
function pem(raw: string | undefined): string | undefined {
  return raw?.replace(/\\n/g, '\n');
}

function holdsPrivateKey(text: string): boolean {
  try {
    createPrivateKey(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The access-token key ring: the Ed25519 pair (JWT_PRIVATE_KEY, JWT_PUBLIC_KEY) first,
 * since the first key signs, then JWT_SECRET, kept to verify the HS256 tokens issued
 * before the switch. The keys themselves are the library's to check; refused here is
 * only what the variables' grammar cannot mean.
 */
function accessTokenKeys(
  value: (name: string) => string | undefined,
  secret: (name: string) => string,
  problems: string[],
): AccessTokenKeyOptions[] {
  const privateKey = pem(value('JWT_PRIVATE_KEY'));
  const publicKey = pem(value('JWT_PUBLIC_KEY'));
  const keys: AccessTokenKeyOptions[] = [];
  if (privateKey !== undefined) keys.push({ algorithm: 'EdDSA', privateKey });
  if (publicKey !== undefined) {
    if (privateKey === undefined) {
      problems.push('JWT_PUBLIC_KEY is set without JWT_PRIVATE_KEY: set both, or only JWT_PRIVATE_KEY (the public key is derived).');
    } else if (holdsPrivateKey(publicKey)) {
      // The library would derive a public key from it; public-key variables tend to be
      // shared more widely than secrets, so a private key there is refused.
      problems.push(`JWT_PUBLIC_KEY must be the public half of ${ED25519_HINT}, not a private key.`);
    } else {
      keys[0].publicKey = publicKey;
    }
  }
  // With Ed25519 keys JWT_SECRET is optional.
  if (value('JWT_SECRET') !== undefined || (privateKey === undefined && publicKey === undefined)) {
    keys.push({ algorithm: 'HS256', secret: secret('JWT_SECRET') });
  }
  // Only after a problem above: a throwaway key, so the library checks the rest without blaming JWT_SECRET.
  if (keys.length === 0) keys.push({ algorithm: 'HS256', secret: randomSecret() });
  return keys;
}

/**
 * Maps environment variables onto `AppConfig`: the app's own settings are checked
 * here, the session options by the library (`resolveSessionOptions`). Throws
 * `ConfigError` naming each variable that is wrong and how to fix it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  const value = (name: string) => {
    const raw = env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
  };

  const nodeEnv = value('NODE_ENV') ?? 'development';
  const production = nodeEnv === 'production';

  const integer = (name: string, fallback: string): number => {
    const raw = value(name) ?? fallback;
    return WHOLE_NUMBER.test(raw) ? Number(raw) : Number.NaN;
  };
  const port = integer('PORT', '3000');
  const portValid = Number.isInteger(port) && port <= 65535;
  if (!portValid) problems.push(`PORT must be an integer from 0 to 65535 (got "${value('PORT')}").`);
  const host = value('HOST') ?? '127.0.0.1';

  const databaseUrl = value('DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL.');
  }
  if (production && !databaseUrl) {
    problems.push('DATABASE_URL is required in production (the embedded server is for development).');
  }

  // Length and independence of the secrets are the library's checks.
  const secret = (name: string): string => {
    const given = value(name);
    if (given !== undefined) return given;
    if (production) problems.push(`${name} is required in production (at least ${MIN_SECRET_BYTES} bytes).`);
    else warnings.push(`${name} is not set: using a random key for this run; sessions end when the process restarts.`);
    return randomSecret();
  };
  const keys = accessTokenKeys(value, secret, problems);
  const sessionSecret = secret('SESSION_SECRET');

  // The app's own durations (server limits); the session ones go to the library as written.
  const duration = (name: string, fallback: string): number => {
    const raw = value(name) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === undefined) {
      problems.push(`${name} must be a duration such as 500ms, 30s, 15m, 12h or 7d (got "${raw}").`);
      return 0;
    }
    return ms;
  };
  // 0s turns the grace window off (the option takes 0); any replayed refresh token then revokes its session.
  const grace = value('REFRESH_REUSE_GRACE');
  const refreshReuseGrace = grace !== undefined && /^0+(ms|s|m|h|d)$/.test(grace) ? 0 : grace;

  const maxSessions = value('MAX_SESSIONS_PER_USER');
  const maxSessionsPerUser = maxSessions !== undefined && WHOLE_NUMBER.test(maxSessions) ? Number(maxSessions) : undefined;
  if (maxSessions !== undefined && maxSessionsPerUser === undefined) {
    problems.push(`MAX_SESSIONS_PER_USER must be a whole number, 0 for no limit (got "${maxSessions}").`);
  }

  let cookieSecure = true;
  const cookieSecureRaw = value('COOKIE_SECURE');
  if (cookieSecureRaw !== undefined) {
    if (!['true', 'false'].includes(cookieSecureRaw)) problems.push('COOKIE_SECURE must be "true" or "false".');
    cookieSecure = cookieSecureRaw !== 'false';
  }
  if (production && !cookieSecure) problems.push('COOKIE_SECURE=false is refused in production.');

  // The default follows PORT (3000 when PORT is bad, so a bad PORT is not blamed on the origins too).
  const defaultPort = portValid ? port : 3000;
  const allowedOrigins = (value('ALLOWED_ORIGINS') ?? `http://localhost:${defaultPort},http://127.0.0.1:${defaultPort}`)
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);

  const cleanupCron = value('CLEANUP_CRON');

  const session: SessionEnvOptions = {
    keys,
    sessionSecret,
    accessTokenTtl: value('ACCESS_TOKEN_TTL'),
    idleTimeout: value('SESSION_IDLE_TIMEOUT'),
    absoluteTimeout: value('SESSION_ABSOLUTE_TIMEOUT'),
    refreshReuseGrace,
    freshSessionMaxAge: value('FRESH_SESSION_MAX_AGE'),
    maxSessionsPerUser,
    revocationMode: value('REVOCATION_MODE') as RevocationMode | undefined,
    cookies: { secure: cookieSecure },
    csrf: { allowedOrigins },
    cleanup: { cron: cleanupCron === 'off' ? false : cleanupCron },
  };
  const sessionValid = checkSessionOptions(session, problems);

  const adminEmails = new Set(
    (value('ADMIN_EMAILS') ?? '')
      .split(',')
      .map((email) => email.trim().toLowerCase())
      .filter(Boolean),
  );

  const loginRateLimit = integer('LOGIN_RATE_LIMIT', '10');
  if (!Number.isInteger(loginRateLimit) || loginRateLimit < 1) {
    problems.push(`LOGIN_RATE_LIMIT must be a positive integer (got "${value('LOGIN_RATE_LIMIT')}").`);
  }

  const trustProxy = parseTrustProxy(value('TRUST_PROXY'));
  if (trustProxy === undefined) problems.push(`${TRUST_PROXY_HINT} (got "${value('TRUST_PROXY')}").`);

  // Off by default; harmless when on (a public route answering constants), so allowed in production.
  const benchRoutesRaw = value('BENCH_ROUTES');
  if (benchRoutesRaw !== undefined && !['true', 'false'].includes(benchRoutesRaw)) {
    problems.push('BENCH_ROUTES must be "true" or "false".');
  }
  const benchRoutes = benchRoutesRaw === 'true';

  const metricsRaw = value('METRICS') ?? 'off';
  if (metricsRaw !== 'on' && metricsRaw !== 'off') problems.push(`METRICS must be "on" or "off" (got "${metricsRaw}").`);

  const logFormat = value('LOG_FORMAT') ?? (production ? 'json' : 'text');
  if (logFormat !== 'json' && logFormat !== 'text') {
    problems.push(`LOG_FORMAT must be "json" or "text" (got "${logFormat}").`);
  }

  const httpAdapter = value('HTTP_ADAPTER') ?? 'express';
  if (!(HTTP_ADAPTERS as readonly string[]).includes(httpAdapter)) {
    problems.push(`HTTP_ADAPTER must be "express" or "fastify" (got "${httpAdapter}").`);
  }

  const serverLimits = readServerLimits({ value, duration }, problems);
  const store = readSessionStore({ value, duration }, problems, warnings);

  if (problems.length > 0 || !sessionValid) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  // The library accepted each origin, so each parses: the same normal form as its own (no trailing slash).
  const normalisedOrigins = allowedOrigins.map((origin) => new URL(origin).origin);
  return Object.assign(new AppConfig(), {
    production,
    host,
    port,
    databaseUrl,
    dataDir: value('DATA_DIR') ?? '.data',
    webRoot: value('WEB_ROOT') ?? DEFAULT_WEB_ROOT,
    store,
    session: { ...session, csrf: { allowedOrigins: normalisedOrigins } },
    cookieSecure,
    allowedOrigins: normalisedOrigins,
    adminEmails,
    loginRateLimit,
    trustProxy: trustProxy ?? false,
    benchRoutes,
    logFormat: logFormat as AppConfig['logFormat'],
    httpAdapter: httpAdapter as HttpAdapterName,
    serverLimits,
    metrics: metricsRaw === 'on',
    warnings,
  });
}
