import type { SessionClock } from './clock.interface';
import type { SessionStore } from './session-store.interface';

/** A duration: milliseconds as a number, or a string such as `500ms`, `30s`, `15m`, `12h`, `7d`. */
export type Duration = number | string;

/** Algorithms the access-token service can be configured with. */
export type AccessTokenAlgorithm = 'HS256';

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

/** Options of `SessionModule.forRoot` / `forRootAsync`. */
export interface SessionModuleOptions {
  /** Where sessions live. Default: a new `InMemorySessionStore` (one process only; sessions vanish on restart). */
  store?: SessionStore;
  /** HS256 key for access tokens, as UTF-8 text or bytes; at least 32 bytes. Required. */
  jwtSecret: string | Buffer;
  /** `kid` header of tokens signed with `jwtSecret`. Default: derived from the key (a hash, not the key). */
  jwtKeyId?: string;
  /** The only algorithm that signs and verifies access tokens. Default: `HS256`. */
  algorithm?: AccessTokenAlgorithm;
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
  /** Cookie names, flags and paths for cookie mode. Defaults: see `SessionCookieOptions`. */
  cookies?: SessionCookieOptions;
  /** Source of time. Default: the system clock. */
  clock?: SessionClock;
}
