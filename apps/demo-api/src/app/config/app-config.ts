import { randomBytes } from 'node:crypto';
import { parseDuration } from '@tessera/session';

/** The demo's whole configuration, mapped from the environment in one place (`loadConfig`). */
export class AppConfig {
  production: boolean;
  host: string;
  port: number;
  /** PostgreSQL URL; undefined means "start the embedded server in `dataDir`". */
  databaseUrl: string | undefined;
  /** Where the embedded server keeps its data. */
  dataDir: string;
  jwtSecret: string;
  sessionSecret: string;
  accessTokenTtlMs: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  cookieSecure: boolean;
  allowedOrigins: string[];
  adminEmails: Set<string>;
  loginRateLimit: number;
  /** Things worth a warning at boot (generated development secrets, ...). */
  warnings: string[];
}

/** A configuration problem found at boot; the message names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const MIN_SECRET_BYTES = 32;

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
  const jwtSecret = secret('JWT_SECRET');
  const sessionSecret = secret('SESSION_SECRET');
  if (jwtSecret === sessionSecret) problems.push('SESSION_SECRET must differ from JWT_SECRET.');
  for (const name of ['JWT_PRIVATE_KEY', 'JWT_PUBLIC_KEY']) {
    if (value(name)) problems.push(`${name} is set, but Ed25519 signing is not available in this version: unset it and use JWT_SECRET.`);
  }

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
    sessionSecret,
    accessTokenTtlMs,
    idleTimeoutMs,
    absoluteTimeoutMs,
    cookieSecure,
    allowedOrigins,
    adminEmails,
    loginRateLimit,
    warnings,
  });
}
