import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { parseDuration } from '@tessera/session';
import { CronTime } from 'cron';
import type { RevocationMode } from '@tessera/session';
import { parseTrustProxy, TRUST_PROXY_HINT } from './trust-proxy';
import type { TrustProxy } from './trust-proxy';
import { readServerLimits } from './server-limits';
import type { ServerLimits } from './server-limits';

/** The demo's whole configuration, mapped from the environment in one place (`loadConfig`). */
export class AppConfig {
  production: boolean;
  host: string;
  port: number;
  /** PostgreSQL URL; undefined means "start the embedded server in `dataDir`". */
  databaseUrl: string | undefined;
  /** Where the embedded server keeps its data. */
  dataDir: string;
  /** HS256 access-token key; undefined when Ed25519 keys are set and JWT_SECRET is not. */
  jwtSecret: string | undefined;
  /** Ed25519 key pair (PEM) that signs access tokens, when JWT_PRIVATE_KEY is set; JWT_SECRET then only verifies. */
  jwtEd25519: { privateKey: string; publicKey: string } | undefined;
  sessionSecret: string;
  accessTokenTtlMs: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  refreshReuseGraceMs: number;
  maxSessionsPerUser: number;
  revocationMode: RevocationMode;
  /** Cron expression of the session cleanup, or false (CLEANUP_CRON=off). */
  cleanupCron: string | false;
  cookieSecure: boolean;
  allowedOrigins: string[];
  adminEmails: Set<string>;
  loginRateLimit: number;
  /** Which proxies may name the client in `X-Forwarded-For` (TRUST_PROXY): Express's `trust proxy` setting. */
  trustProxy: TrustProxy;
  /** Mounts `GET /bench/me`, the baseline route of `npm run bench` (BENCH_ROUTES=true). */
  benchRoutes: boolean;
  /** `json`: one JSON object per log line (Nest's JSON console logger); `text`: Nest's coloured lines. */
  logFormat: 'json' | 'text';
  /** HTTP server limits: HEADERS_TIMEOUT, REQUEST_TIMEOUT, KEEP_ALIVE_TIMEOUT, MAX_CONNECTIONS. */
  serverLimits: ServerLimits;
  /** Things worth a warning at boot (generated development secrets, ...). */
  warnings: string[];
}

/** A configuration problem found at boot; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const MIN_SECRET_BYTES = 32;
const ED25519_HINT = 'an Ed25519 key in PEM form (openssl genpkey -algorithm ed25519 -out jwt.pem; openssl pkey -in jwt.pem -pubout)';

/** A PEM from the environment: .env files often hold it on one line with literal `\n` sequences. */
function pem(raw: string | undefined): string | undefined {
  return raw?.replace(/\\n/g, '\n');
}

/** Parses a PEM key, or returns undefined when it is not an Ed25519 key of that kind. */
function ed25519Key(text: string, kind: 'private' | 'public'): KeyObject | undefined {
  try {
    const key = kind === 'private' ? createPrivateKey(text) : createPublicKey(text);
    return key.type === kind && key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

function isPrivateKey(text: string): boolean {
  try {
    createPrivateKey(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * JWT_PRIVATE_KEY (and optionally JWT_PUBLIC_KEY, else derived) as a checked Ed25519
 * pair; problems name the variable and never echo its value.
 */
function ed25519Keys(
  privatePem: string | undefined,
  publicPem: string | undefined,
  problems: string[],
): AppConfig['jwtEd25519'] {
  if (privatePem === undefined) {
    if (publicPem !== undefined) {
      problems.push('JWT_PUBLIC_KEY is set without JWT_PRIVATE_KEY: set both, or only JWT_PRIVATE_KEY (the public key is derived).');
    }
    return undefined;
  }
  const privateKey = ed25519Key(privatePem, 'private');
  if (!privateKey) problems.push(`JWT_PRIVATE_KEY must be the private half of ${ED25519_HINT}.`);
  if (publicPem === undefined) {
    return privateKey && { privateKey: privatePem, publicKey: pemOf(createPublicKey(privateKey)) };
  }
  // createPublicKey would happily derive from a private key: refuse one here, since
  // public-key variables tend to be shared more widely than secrets.
  const publicKey = isPrivateKey(publicPem) ? undefined : ed25519Key(publicPem, 'public');
  if (!publicKey) problems.push(`JWT_PUBLIC_KEY must be the public half of ${ED25519_HINT}.`);
  if (!privateKey || !publicKey) return undefined;
  if (!createPublicKey(privateKey).equals(publicKey)) {
    problems.push('JWT_PUBLIC_KEY does not belong to JWT_PRIVATE_KEY: set the pair generated together, or only JWT_PRIVATE_KEY.');
    return undefined;
  }
  return { privateKey: privatePem, publicKey: publicPem };
}

function pemOf(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/**
 * Maps environment variables onto `AppConfig`, validating everything at once.
 * Throws `ConfigError` naming each variable that is wrong and how to fix it.
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
    return /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
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

  const secret = (name: string): string => {
    const given = value(name);
    if (given === undefined) {
      if (production) problems.push(`${name} is required in production (at least ${MIN_SECRET_BYTES} bytes).`);
      else warnings.push(`${name} is not set: using a random key for this run; sessions end when the process restarts.`);
      return randomBytes(48).toString('base64url');
    }
    if (Buffer.byteLength(given, 'utf8') < MIN_SECRET_BYTES) {
      problems.push(`${name} must be at least ${MIN_SECRET_BYTES} bytes (got ${Buffer.byteLength(given, 'utf8')}).`);
    }
    return given;
  };
  const jwtEd25519 = ed25519Keys(pem(value('JWT_PRIVATE_KEY')), pem(value('JWT_PUBLIC_KEY')), problems);
  // With Ed25519 keys JWT_SECRET is optional: when set, it stays in the ring to verify
  // the HS256 tokens issued before the switch until they expire.
  const ed25519Requested = value('JWT_PRIVATE_KEY') !== undefined || value('JWT_PUBLIC_KEY') !== undefined;
  const jwtSecret = ed25519Requested && value('JWT_SECRET') === undefined ? undefined : secret('JWT_SECRET');
  const sessionSecret = secret('SESSION_SECRET');
  if (jwtSecret === sessionSecret) problems.push('SESSION_SECRET must differ from JWT_SECRET.');

  const duration = (name: string, fallback: string): number => {
    const raw = value(name) ?? fallback;
    const ms = parseDuration(raw);
    if (ms === undefined) {
      problems.push(`${name} must be a duration such as 500ms, 30s, 15m, 12h or 7d (got "${raw}").`);
      return 0;
    }
    return ms;
  };
  const accessTokenTtlMs = duration('ACCESS_TOKEN_TTL', '10m');
  const idleTimeoutMs = duration('SESSION_IDLE_TIMEOUT', '7d');
  const absoluteTimeoutMs = duration('SESSION_ABSOLUTE_TIMEOUT', '30d');
  // 0s turns the grace window off: any replayed refresh token then revokes its session.
  const refreshReuseGraceMs = /^0+(ms|s|m|h|d)$/.test(value('REFRESH_REUSE_GRACE') ?? '')
    ? 0
    : duration('REFRESH_REUSE_GRACE', '10s');
  if (idleTimeoutMs > absoluteTimeoutMs && absoluteTimeoutMs > 0) {
    problems.push('SESSION_IDLE_TIMEOUT must not exceed SESSION_ABSOLUTE_TIMEOUT.');
  }
  if (accessTokenTtlMs > idleTimeoutMs && idleTimeoutMs > 0) {
    problems.push('ACCESS_TOKEN_TTL must not exceed SESSION_IDLE_TIMEOUT.');
  }

  let cookieSecure = true;
  const cookieSecureRaw = value('COOKIE_SECURE');
  if (cookieSecureRaw !== undefined) {
    if (!['true', 'false'].includes(cookieSecureRaw)) problems.push('COOKIE_SECURE must be "true" or "false".');
    cookieSecure = cookieSecureRaw !== 'false';
  }
  if (production && !cookieSecure) problems.push('COOKIE_SECURE=false is refused in production.');

  const defaultPort = portValid ? port : 3000;
  const allowedOrigins = (value('ALLOWED_ORIGINS') ?? `http://localhost:${defaultPort},http://127.0.0.1:${defaultPort}`)
    .split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  for (const origin of allowedOrigins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin) {
      problems.push(`ALLOWED_ORIGINS entries must be origins such as https://app.example.com (got "${origin}").`);
    }
  }

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

  const revocationMode = (value('REVOCATION_MODE') ?? 'cached') as RevocationMode;
  if (!['stateless', 'cached', 'strict'].includes(revocationMode)) {
    problems.push(`REVOCATION_MODE must be stateless, cached or strict (got "${revocationMode}").`);
  }

  const cleanupRaw = value('CLEANUP_CRON') ?? '*/10 * * * *';
  const cleanupCron = cleanupRaw === 'off' ? false : cleanupRaw;
  if (cleanupCron !== false) {
    try {
      new CronTime(cleanupCron);
    } catch {
      problems.push(`CLEANUP_CRON must be a cron expression such as "*/10 * * * *", or "off" (got "${cleanupRaw}").`);
    }
  }

  // Off by default; harmless when on (a public route answering constants), so allowed in production.
  const benchRoutesRaw = value('BENCH_ROUTES');
  if (benchRoutesRaw !== undefined && !['true', 'false'].includes(benchRoutesRaw)) {
    problems.push('BENCH_ROUTES must be "true" or "false".');
  }
  const benchRoutes = benchRoutesRaw === 'true';

  const logFormat = value('LOG_FORMAT') ?? (production ? 'json' : 'text');
  if (logFormat !== 'json' && logFormat !== 'text') {
    problems.push(`LOG_FORMAT must be "json" or "text" (got "${logFormat}").`);
  }

  const maxSessionsPerUser = integer('MAX_SESSIONS_PER_USER', '10');
  if (!Number.isInteger(maxSessionsPerUser)) {
    problems.push(`MAX_SESSIONS_PER_USER must be a whole number, 0 for no limit (got "${value('MAX_SESSIONS_PER_USER')}").`);
  }

  const serverLimits = readServerLimits({ value, duration }, problems);

  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
  return Object.assign(new AppConfig(), {
    production,
    host,
    port,
    databaseUrl,
    dataDir: value('DATA_DIR') ?? '.data',
    jwtSecret,
    jwtEd25519,
    sessionSecret,
    accessTokenTtlMs,
    idleTimeoutMs,
    absoluteTimeoutMs,
    refreshReuseGraceMs,
    maxSessionsPerUser,
    revocationMode,
    cleanupCron,
    cookieSecure,
    allowedOrigins,
    adminEmails,
    loginRateLimit,
    trustProxy: trustProxy ?? false,
    benchRoutes,
    logFormat: logFormat as AppConfig['logFormat'],
    serverLimits,
    warnings,
  });
}
