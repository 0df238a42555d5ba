/** What the app reads from its environment, checked once at boot. */
export interface AppConfig {
  /** PostgreSQL URL (`DATABASE_URL`, required). */
  databaseUrl: string;
  /** Listen port (`PORT`, default 3000; `0` picks a free one). */
  port: number;
  /** Listen address (`HOST`, default 127.0.0.1). */
  host: string;
  /** HS256 key of the access tokens (`JWT_SECRET`, 32+ bytes; Tessera checks it). */
  jwtSecret: string;
  /** Key of the server's HMACs (`SESSION_SECRET`, 32+ bytes, not the JWT secret). */
  sessionSecret: string;
  /** Users registered with these emails get the `admin` role (`ADMIN_EMAILS`, comma-separated). */
  adminEmails: ReadonlySet<string>;
}

/** Reads the environment; a missing or malformed value stops the app with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new Error('DATABASE_URL is required (postgres://user@host:5432/database)');
  const port = Number(env.PORT ?? '3000');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be an integer from 0 to 65535');
  return {
    databaseUrl,
    port,
    host: env.HOST ?? '127.0.0.1',
    // Empty secrets reach Tessera, whose boot-time check says how to fix them.
    jwtSecret: env.JWT_SECRET ?? '',
    sessionSecret: env.SESSION_SECRET ?? '',
    adminEmails: new Set(
      (env.ADMIN_EMAILS ?? '')
        .split(',')
        .map((email) => email.trim().toLowerCase())
        .filter(Boolean),
    ),
  };
}

/** Injection token of the `AppConfig` (`AppModule.forRoot` provides it). */
export const APP_CONFIG = Symbol('APP_CONFIG');
