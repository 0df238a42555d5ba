import type { KeyObject } from 'node:crypto';
import type { SessionClock } from './clock.interface';
import type { SessionHttpAdapter } from './session-http-adapter.interface';
import type { SessionStore } from './session-store.interface';
import type { SessionClaims, SessionUser } from './session.interface';

/** A duration: milliseconds as a number, or a string such as `500ms`, `30s`, `15m`, `12h`, `7d`. */
export type Duration = number | string;

/** Algorithms an access-token key can be pinned to. */
export type AccessTokenAlgorithm = 'HS256' | 'EdDSA';

/** One key of the access-token key ring; its algorithm is pinned to it. */
export interface AccessTokenKeyOptions {
  /** `kid` header of tokens signed with this key. Default: derived from the key (RFC 7638 thumbprint for Ed25519). */
  kid?: string;
  /** `HS256` (shared secret) or `EdDSA` (Ed25519 key pair). */
  algorithm: AccessTokenAlgorithm;
  /** HS256: the secret, UTF-8 text or bytes, at least 32 bytes. */
  secret?: string | Buffer;
  /** EdDSA: the Ed25519 private key (PEM or KeyObject); needed only by the key that signs. */
  privateKey?: string | KeyObject;
  /** EdDSA: the Ed25519 public key (PEM or KeyObject). Default: derived from `privateKey`. */
  publicKey?: string | KeyObject;
}

/**
 * How an authenticated request learns that its session was revoked:
 * `stateless` trusts the access token until it expires; `cached` checks an in-memory
 * set of recently revoked sessions fed by the store's change feed; `strict` reads the
 * session from the store on every request.
 */
export type RevocationMode = 'stateless' | 'cached' | 'strict';

/** Cookie settings for cookie mode. */
export interface SessionCookieOptions {
  /** Adds `Secure` and the `__Host-` / `__Secure-` name prefixes. Default: `true`. */
  secure?: boolean;
  /** Base name of the access-token cookie. Default: `tessera-at` (sent as `__Host-tessera-at`). */
  accessTokenName?: string;
  /** Base name of the refresh-token cookie. Default: `tessera-rt` (sent as `__Secure-tessera-rt`). */
  refreshTokenName?: string;
  /** Path the refresh cookie is scoped to, so it only travels to the refresh/logout routes. Default: `/auth`. */
  refreshTokenPath?: string;
}

/** CSRF protection of cookie-authenticated unsafe requests (OWASP CSRF cheat sheet). */
export interface SessionCsrfOptions {
  /** Whether `CsrfGuard` checks requests at all. Default: `true`. */
  enabled?: boolean;
  /**
   * Origins (`https://app.example.com`) whose pages may send unsafe cookie-authenticated
   * requests. Default: only the origin the request itself was sent to (its Host header).
   */
  allowedOrigins?: string[];
  /** Request header carrying the token. Default: `X-CSRF-Token`. */
  headerName?: string;
  /** Base name of the readable token cookie. Default: `tessera-csrf` (sent as `__Host-tessera-csrf`). */
  cookieName?: string;
}

/** The job that deletes old sessions (registered through the app's `ScheduleModule`). */
export interface SessionCleanupOptions {
  /** Cron expression of the scheduled run, or `false` for none (run `SessionCleanupService.run()` yourself). Default: every 10 minutes. */
  cron?: string | false;
  /** How long expired or revoked sessions are kept before deletion. Default: `7d`. */
  retention?: Duration;
  /** Sessions deleted per batch, each batch one short statement. Default: `5000`. */
  batchSize?: number;
  /** A run stops after this long and leaves the rest to the next one. Default: `5m`. */
  maxRunTime?: Duration;
}

/** The reuse of `resolveUser` answers by one instance. */
export interface SessionUserCacheOptions {
  /**
   * How long this instance reuses what `resolveUser` answered for a user, at its
   * refreshes; `SessionService.refreshUser` drops the entry on every instance at once
   * (through the store's change feed). Default: `0` (ask at every refresh).
   */
  ttl?: Duration;
  /** Users remembered at most (the oldest go first). Default: `10000`. */
  size?: number;
}

/**
 * Metrics and traces through `@opentelemetry/api` (an optional peer dependency): see
 * `SessionMetric` for what is recorded. The providers are structural types (an SDK's
 * `MeterProvider` and `BasicTracerProvider` fit) so that apps without the package compile.
 */
export interface SessionTelemetryOptions {
  /**
   * `false` records nothing even when an SDK is registered. Default: `true` (recording
   * whenever `@opentelemetry/api` is installed and a meter or tracer provider is registered
   * before the module boots; without one, nothing is wrapped, no cost).
   */
  enabled?: boolean;
  /** Where metrics go. Default: the global one (`metrics.getMeterProvider()`). */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
  /** Where spans go. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  /**
   * How often the store is asked to count live sessions for the `tessera.sessions.live`
   * gauge (one cheap count, not one per scrape); `0` turns the sample off. Default: `1m`.
   */
  liveSessionsSampleInterval?: Duration;
}

/** Options of `SessionModule.forRoot` / `forRootAsync`. */
export interface SessionModuleOptions {
  /** Where sessions live. Default: a new `InMemorySessionStore` (one process only; sessions vanish on restart). */
  store?: SessionStore;
  /** HS256 key for access tokens, as UTF-8 text or bytes; at least 32 bytes. Required unless `keys` is set. */
  jwtSecret?: string | Buffer;
  /** `kid` header of tokens signed with `jwtSecret`. Default: derived from the key (a hash, not the key). */
  jwtKeyId?: string;
  /** Algorithm of the `jwtSecret` key; only `HS256` is possible there. Default: `HS256`. */
  algorithm?: 'HS256';
  /**
   * Key ring: every key here verifies tokens carrying its `kid`; a key removed from the
   * ring is retired and its tokens stop verifying. Default: just the `jwtSecret` key.
   */
  keys?: AccessTokenKeyOptions[];
  /** `kid` of the key that signs new tokens. Default: the first of `keys`, else the `jwtSecret` key. */
  activeKeyId?: string;
  /** Key for the server's own HMACs (refresh-token hashes); at least 32 bytes and different from `jwtSecret`. Required. */
  sessionSecret: string | Buffer;
  /** `iss` claim of access tokens, checked on verify. Default: `tessera`. */
  issuer?: string;
  /** `aud` claim of access tokens, checked on verify. Default: `tessera`. */
  audience?: string;
  /** Access-token lifetime. Default: `10m`. */
  accessTokenTtl?: Duration;
  /** A session ends after this long without a refresh. Default: `7d`. */
  idleTimeout?: Duration;
  /** A session ends this long after login, whatever happens. Default: `30d`. */
  absoluteTimeout?: Duration;
  /** Leeway for `exp` / `iat` checks, for clocks that drift between servers. Default: `5s`. */
  clockSkew?: Duration;
  /**
   * How long the refresh token replaced by a rotation still works (it yields the same
   * successor), so concurrent tabs and retries are not mistaken for theft. Default: `10s`.
   */
  refreshReuseGrace?: Duration;
  /**
   * How recently the user must have proved a credential (login or `markAuthenticated`) for a
   * route marked `@RequireFreshSession()` without an argument. Default: `10m`.
   */
  freshSessionMaxAge?: Duration;
  /** A login beyond this many live sessions of one user revokes the oldest (`evicted`). Default: `10`; `0` means no limit. */
  maxSessionsPerUser?: number;
  /** Shortest time between two recorded activities (`lastSeenAt` writes) of one session. Default: `1m`. */
  activityInterval?: Duration;
  /**
   * Access tokens remembered after they verify, so the requests that follow with the
   * same token skip the signature check (expiry and revocation are still checked on
   * each). Default: `10000`; `0` turns the cache off.
   */
  verifiedTokenCacheSize?: number;
  /** `stateless`, `cached` or `strict` (see `RevocationMode`). Default: `cached`. */
  revocationMode?: RevocationMode;
  /** Cookie names, flags and paths for cookie mode. Defaults: see `SessionCookieOptions`. */
  cookies?: SessionCookieOptions;
  /** CSRF protection. Defaults: see `SessionCsrfOptions`. */
  csrf?: SessionCsrfOptions;
  /** Deletion of old sessions. Defaults: see `SessionCleanupOptions`. */
  cleanup?: SessionCleanupOptions;
  /**
   * The user's current roles, claims and profile, read from the app's user store at each
   * refresh (and by `SessionService.refreshUser`); what it answers goes into the new access
   * token and the session record. `null`, `undefined` or `disabled: true` ends the session
   * (`session_revoked`, reason `user_disabled`). Default: none (the roles and claims given
   * at login stay for the session's life, unless `refreshUser` is called with new ones).
   */
  resolveUser?: (userId: string) => Promise<SessionUser | null | undefined>;
  /**
   * Custom claims for a user's access tokens, computed at login and at each refresh
   * (from the `resolveUser` answer). JSON values only, at most 1 kB serialized, under
   * names that are not registered ones (`iss`, `sub`, `aud`, `exp`, `sid`, `roles`, ...);
   * anything else is refused with `SessionClaimsError`. Keep personal data out: access
   * tokens are readable by whoever holds them. Default: no custom claims.
   */
  claims?: (user: SessionUser) => SessionClaims;
  /** Reuse of `resolveUser` answers. Defaults: see `SessionUserCacheOptions`. */
  userCache?: SessionUserCacheOptions;
  /** Source of time. Default: the system clock. */
  clock?: SessionClock;
  /**
   * How requests are read and responses written, for an HTTP platform other than Express
   * and Fastify. Default: `PlatformHttpAdapter` (Fastify's adapter for Fastify requests,
   * Express's otherwise; nothing to configure on either).
   */
  http?: SessionHttpAdapter;
  /** Metrics and traces (OpenTelemetry). Defaults: see `SessionTelemetryOptions`. */
  telemetry?: SessionTelemetryOptions;
}
