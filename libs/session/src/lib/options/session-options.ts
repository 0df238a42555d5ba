import { CronTime } from 'cron';
import { createSecretKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { CONFIG_ERROR_MESSAGES } from '../constants';
import { SessionConfigError } from '../exceptions/session-config.error';
import { systemClock } from '../interfaces/clock.interface';
import type { SessionClock } from '../interfaces/clock.interface';
import type { Duration, RevocationMode, SessionModuleOptions } from '../interfaces/session-module-options.interface';
import type { SessionHttpAdapter } from '../interfaces/session-http-adapter.interface';
import type { SessionStore } from '../interfaces/session-store.interface';
import { platformHttpAdapter } from '../adapters/platform-http.adapter';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { parseDuration } from '../utils/duration';
import type { TelemetryMeterProvider, TelemetryTracerProvider } from '../telemetry/otel-api';
import { resolveKeyRing, secretBytes } from './key-ring';
import type { ResolvedKeyRing } from './key-ring';

/** Options after defaults are merged and every value is checked; what services inject. */
export interface ResolvedSessionOptions {
  store: SessionStore;
  /** Access-token keys by `kid`, and the one that signs. */
  keys: ResolvedKeyRing;
  /** Key for the server's own HMACs (refresh-token MACs and hashes, CSRF tokens, fingerprints). */
  sessionKey: KeyObject;
  issuer: string;
  audience: string;
  accessTokenTtlMs: number;
  idleTimeoutMs: number;
  absoluteTimeoutMs: number;
  clockSkewMs: number;
  refreshReuseGraceMs: number;
  /** Default maximum age of `@RequireFreshSession()`. */
  freshSessionMaxAgeMs: number;
  /** 0: no limit. */
  maxSessionsPerUser: number;
  activityIntervalMs: number;
  /** 0: off. */
  verifiedTokenCacheSize: number;
  revocationMode: RevocationMode;
  cookies: {
    secure: boolean;
    accessTokenName: string;
    refreshTokenName: string;
    refreshTokenPath: string;
    /** The names cookies are sent under: the base names, prefixed when `secure`. */
    names: SessionCookieNames;
  };
  csrf: {
    enabled: boolean;
    /** Normalised origins; empty means "the request's own origin". */
    allowedOrigins: string[];
    /** Lower-cased, as Node presents request headers. */
    headerName: string;
    cookieName: string;
  };
  cleanup: {
    cron: string | false;
    retentionMs: number;
    batchSize: number;
    maxRunTimeMs: number;
  };
  /** Undefined: no hook (roles and claims come from the session record). */
  resolveUser: SessionModuleOptions['resolveUser'];
  /** Undefined: no custom claims. */
  claims: SessionModuleOptions['claims'];
  userCache: {
    /** 0: off. */
    ttlMs: number;
    size: number;
  };
  clock: SessionClock;
  http: SessionHttpAdapter;
  telemetry: {
    enabled: boolean;
    meterProvider: TelemetryMeterProvider | undefined;
    tracerProvider: TelemetryTracerProvider | undefined;
    /** 0: no sample. */
    liveSessionsSampleIntervalMs: number;
  };
}

/** The names Tessera's cookies are sent under. */
export interface SessionCookieNames {
  /** Access-token cookie: `__Host-` prefixed when secure (pinned to this host, `Path=/`, `Secure`). */
  access: string;
  /**
   * Refresh-token cookie: `__Secure-` prefixed when secure; its path is narrower than `/`,
   * which `__Host-` forbids (OWASP session management cheat sheet).
   */
  refresh: string;
  /** Readable CSRF-token cookie: `__Host-` prefixed when secure. */
  csrf: string;
}

/** Injection token of `ResolvedSessionOptions`. */
export const RESOLVED_SESSION_OPTIONS = Symbol('ResolvedSessionOptions');

/** Every method of the `SessionStore` contract (a store must implement each). */
export const STORE_METHODS = [
  'create',
  'findById',
  'rotateRefresh',
  'touch',
  'markAuthenticated',
  'revoke',
  'reissue',
  'listByUser',
  'revokeByUser',
  'updateUserSessions',
  'listRevokedSince',
  'watchRevocations',
  'deleteExpired',
  'acquireCleanupLock',
] as const satisfies readonly (keyof SessionStore)[];
/** Every method of the `SessionHttpAdapter` contract. */
const HTTP_ADAPTER_METHODS = [
  'method',
  'header',
  'cookie',
  'ip',
  'protocol',
  'body',
  'setCookie',
  'clearCookie',
  'setHeader',
] as const satisfies readonly (keyof SessionHttpAdapter)[];

/** The `http` option, checked; the per-request Express/Fastify adapter when absent. */
function httpAdapter(http: SessionHttpAdapter | undefined): SessionHttpAdapter {
  if (http === undefined) return platformHttpAdapter;
  if (HTTP_ADAPTER_METHODS.some((method) => typeof (http as unknown as Record<string, unknown>)[method] !== 'function')) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badHttpAdapter);
  }
  return http;
}

const REVOCATION_MODES: readonly RevocationMode[] = ['stateless', 'cached', 'strict'];

function duration(option: string, value: Duration | undefined, fallback: string, allowZero = false): number {
  if (allowZero && value === 0) return 0;
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

function resolveTelemetry(telemetry: NonNullable<SessionModuleOptions['telemetry']>): ResolvedSessionOptions['telemetry'] {
  const { meterProvider, tracerProvider } = telemetry;
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.notAProvider('telemetry.meterProvider', 'getMeter'));
  }
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.notAProvider('telemetry.tracerProvider', 'getTracer'));
  }
  return {
    enabled: telemetry.enabled !== false,
    meterProvider: meterProvider as TelemetryMeterProvider | undefined,
    tracerProvider: tracerProvider as TelemetryTracerProvider | undefined,
    liveSessionsSampleIntervalMs: duration(
      'telemetry.liveSessionsSampleInterval',
      telemetry.liveSessionsSampleInterval,
      '1m',
      true,
    ),
  };
}

/**
 * Checks SessionModule options the way `forRoot` / `forRootAsync` will at boot, without
 * starting anything: throws `SessionConfigError` (its `option` names the culprit) on the
 * first problem. Lets an app validate its configuration early, e.g. with its own env checks.
 */
export function validateSessionOptions(options: SessionModuleOptions): void {
  resolveSessionOptions(options);
}

/**
 * Merges defaults into the user's options and validates them. Used by both
 * `forRoot` and `forRootAsync`; a bad value throws `SessionConfigError` and stops the boot.
 */
export function resolveSessionOptions(options: SessionModuleOptions): ResolvedSessionOptions {
  const keys = resolveKeyRing(options);
  const sessionBytes = secretBytes('sessionSecret', options.sessionSecret);
  if (keys.hmacSecrets.some((secret) => secret.equals(sessionBytes))) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.secretsEqual);
  }

  const accessTokenTtlMs = duration('accessTokenTtl', options.accessTokenTtl, '10m');
  const idleTimeoutMs = duration('idleTimeout', options.idleTimeout, '7d');
  const absoluteTimeoutMs = duration('absoluteTimeout', options.absoluteTimeout, '30d');
  const clockSkewMs = duration('clockSkew', options.clockSkew, '5s', true);
  const refreshReuseGraceMs = duration('refreshReuseGrace', options.refreshReuseGrace, '10s', true);
  const activityIntervalMs = duration('activityInterval', options.activityInterval, '1m');
  const freshSessionMaxAgeMs = duration('freshSessionMaxAge', options.freshSessionMaxAge, '10m');
  if (idleTimeoutMs > absoluteTimeoutMs) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.idleOverAbsolute);
  if (accessTokenTtlMs > idleTimeoutMs) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.ttlOverIdle);

  const maxSessionsPerUser = options.maxSessionsPerUser ?? 10;
  if (!Number.isSafeInteger(maxSessionsPerUser) || maxSessionsPerUser < 0) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badCount('maxSessionsPerUser', options.maxSessionsPerUser));
  }

  const verifiedTokenCacheSize = options.verifiedTokenCacheSize ?? 10_000;
  if (!Number.isSafeInteger(verifiedTokenCacheSize) || verifiedTokenCacheSize < 0) {
    throw new SessionConfigError(
      CONFIG_ERROR_MESSAGES.badCount('verifiedTokenCacheSize', options.verifiedTokenCacheSize),
    );
  }

  const revocationMode = options.revocationMode ?? 'cached';
  if (!REVOCATION_MODES.includes(revocationMode)) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badRevocationMode(revocationMode));
  }

  const store = options.store ?? new InMemorySessionStore();
  if (STORE_METHODS.some((method) => typeof (store as unknown as Record<string, unknown>)[method] !== 'function')) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badStore);
  }

  const csrf = options.csrf ?? {};
  if (csrf.allowedOrigins !== undefined && !Array.isArray(csrf.allowedOrigins)) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badOrigin(csrf.allowedOrigins));
  }
  const allowedOrigins = (csrf.allowedOrigins ?? []).map((origin) => {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.origin !== origin.replace(/\/$/, '') || parsed.origin === 'null') {
      throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badOrigin(origin));
    }
    return parsed.origin;
  });

  const cleanupOptions = options.cleanup ?? {};
  const cron = cleanupOptions.cron ?? '*/10 * * * *';
  if (cron !== false) {
    try {
      new CronTime(cron);
    } catch {
      throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badCron(cron));
    }
  }
  const batchSize = cleanupOptions.batchSize ?? 5_000;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badCount('cleanup.batchSize', cleanupOptions.batchSize));
  }

  const cookies = options.cookies ?? {};
  const refreshTokenPath = nonEmpty('cookies.refreshTokenPath', cookies.refreshTokenPath, '/auth');
  if (!refreshTokenPath.startsWith('/')) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badCookiePath);
  const issuer = nonEmpty('issuer', options.issuer, 'tessera');
  const audience = nonEmpty('audience', options.audience, 'tessera');
  const secure = cookies.secure ?? true;
  const accessTokenName = nonEmpty('cookies.accessTokenName', cookies.accessTokenName, 'tessera-at');
  const refreshTokenName = nonEmpty('cookies.refreshTokenName', cookies.refreshTokenName, 'tessera-rt');
  const headerName = nonEmpty('csrf.headerName', csrf.headerName, 'x-csrf-token').toLowerCase();
  const csrfCookieName = nonEmpty('csrf.cookieName', csrf.cookieName, 'tessera-csrf');

  if (options.resolveUser !== undefined && typeof options.resolveUser !== 'function') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.notAFunction('resolveUser'));
  }
  if (options.claims !== undefined && typeof options.claims !== 'function') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.notAFunction('claims'));
  }
  const userCache = options.userCache ?? {};
  const userCacheSize = userCache.size ?? 10_000;
  if (!Number.isSafeInteger(userCacheSize) || userCacheSize < 0) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badCount('userCache.size', userCache.size));
  }

  return {
    store,
    keys,
    sessionKey: createSecretKey(sessionBytes),
    issuer,
    audience,
    accessTokenTtlMs,
    idleTimeoutMs,
    absoluteTimeoutMs,
    clockSkewMs,
    refreshReuseGraceMs,
    freshSessionMaxAgeMs,
    maxSessionsPerUser,
    activityIntervalMs,
    verifiedTokenCacheSize,
    revocationMode,
    cookies: {
      secure,
      accessTokenName,
      refreshTokenName,
      refreshTokenPath,
      names: {
        access: secure ? `__Host-${accessTokenName}` : accessTokenName,
        refresh: secure ? `__Secure-${refreshTokenName}` : refreshTokenName,
        csrf: secure ? `__Host-${csrfCookieName}` : csrfCookieName,
      },
    },
    csrf: {
      enabled: csrf.enabled ?? true,
      allowedOrigins,
      headerName,
      cookieName: csrfCookieName,
    },
    cleanup: {
      cron,
      retentionMs: duration('cleanup.retention', cleanupOptions.retention, '7d', true),
      batchSize,
      maxRunTimeMs: duration('cleanup.maxRunTime', cleanupOptions.maxRunTime, '5m'),
    },
    resolveUser: options.resolveUser,
    claims: options.claims,
    userCache: {
      ttlMs: userCache.ttl === undefined ? 0 : duration('userCache.ttl', userCache.ttl, '1m', true),
      size: userCacheSize,
    },
    clock: options.clock ?? systemClock,
    http: httpAdapter(options.http),
    telemetry: resolveTelemetry(options.telemetry ?? {}),
  };
}
