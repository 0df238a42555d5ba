import { Inject, Injectable } from '@nestjs/common';
import { createHmac, sign as signBytes, timingSafeEqual, verify as verifyBytes } from 'node:crypto';
import { ACCESS_TOKEN_TYPE, AuthErrorCode } from '../constants';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { AccessTokenClaims } from '../interfaces/authenticated.interface';
import type { StoredClaims } from '../interfaces/session.interface';
import type { PublicJwk, ResolvedAccessTokenKey } from '../options/key-ring';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { BoundedMap } from '../utils/bounded-map';
import { RESERVED_CLAIMS, deepFreeze } from '../utils/claims.util';
import { randomToken } from '../utils/crypto.util';

/** What the session service asks to be put in an access token. */
export interface AccessTokenSubject {
  userId: string;
  sessionId: string;
  roles: string[];
  /** Custom claims, checked already (`checkedClaims`): top-level claims of the token. */
  claims?: StoredClaims;
  /** The token never outlives this (its session's absolute expiry). */
  notAfter?: Date;
  /** When the user last proved a credential: the `auth_time` claim (OIDC Core §2), in seconds. */
  authenticatedAt?: Date;
}

/** A signed access token and when it expires. */
export interface SignedAccessToken {
  token: string;
  expiresAt: Date;
}

/** A JWKS document (RFC 7517 §5). */
export interface JwksDocument {
  keys: PublicJwk[];
}

/** A token that verified, with its time claims in milliseconds, re-checked on every use. */
interface VerifiedToken {
  claims: AccessTokenClaims;
  iatMs: number;
  nbfMs: number;
  expMs: number;
}

// Header parameters that would let a token choose its own verification key. We never
// honour them (RFC 8725 §3.10), so a token that carries one is refused outright.
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit'] as const;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 8_192;
// Distinct header segments remembered; an attacker's variants are never accepted, so never stored.
const MAX_ACCEPTED_HEADERS = 16;
// Longer tokens are verified every time rather than kept (ours are ~350 characters), so
// the verified-token cache stays within a few megabytes at its default size.
const MAX_CACHED_TOKEN_LENGTH = 2_048;
// Signature lengths and the characters allowed last, where the unused low bits must be zero
// (canonical base64url, RFC 7515 §2): 32 bytes → 43 chars, 64 bytes → 86 chars.
const NO_CLAIMS: Readonly<StoredClaims> = Object.freeze({});
// The claims a Tessera token carries besides custom ones.
const OWN_CLAIMS = new Set(['iss', 'aud', 'sub', 'sid', 'jti', 'iat', 'exp', 'nbf', 'roles', 'auth_time']);
const CANONICAL = { HS256: { length: 43, last: /[AEIMQUYcgkosw048]$/ }, EdDSA: { length: 86, last: /[AQgw]$/ } } as const;

function decodeJson(segment: string): Record<string, unknown> | undefined {
  if (!SEGMENT.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Signs and verifies access tokens: JWTs with `typ: at+jwt` (RFC 9068) and a `kid`
 * naming a key of the ring, whose algorithm is pinned to that key (so `alg: none`,
 * algorithm confusion and unknown keys cannot verify).
 *
 * Signing and verification are done here, in one pass over the token: jsonwebtoken has
 * no EdDSA, through passport-jwt it would parse every token a second time on the hot
 * path of each request, and its `sign` throws a TypeError on a custom claim named like
 * a member of `Object.prototype` (`valueOf`, `toString`: it looks claims up in a plain
 * object), which `checkedClaims` rightly accepts (RFC 7519 §4.3: any name).
 */
@Injectable()
export class AccessTokenService {
  private readonly acceptedHeaders = new BoundedMap<string, ResolvedAccessTokenKey>(MAX_ACCEPTED_HEADERS);
  private readonly verified: BoundedMap<string, VerifiedToken>;
  // Custom claims of each verified claims object (frozen and shared, so keyed by identity).
  private readonly customByClaims = new WeakMap<AccessTokenClaims, Readonly<StoredClaims>>();

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
  ) {
    this.verified = new BoundedMap(options.verifiedTokenCacheSize);
  }

  /** Signs an access token for a session with the active key. */
  sign(subject: AccessTokenSubject): SignedAccessToken {
    const nowMs = this.options.clock.now().getTime();
    const iat = Math.floor(nowMs / 1000);
    const limit = Math.min(nowMs + this.options.accessTokenTtlMs, subject.notAfter?.getTime() ?? Number.POSITIVE_INFINITY);
    // At least one second, so that iat < exp holds even at the very end of a session.
    const exp = Math.max(Math.floor(limit / 1000), iat + 1);
    // Custom claims first; none can shadow ours (reserved names are refused when they are computed).
    const claims: AccessTokenClaims = {
      ...subject.claims,
      iss: this.options.issuer,
      aud: this.options.audience,
      sub: subject.userId,
      sid: subject.sessionId,
      jti: randomToken(16),
      iat,
      exp,
      roles: [...subject.roles],
    };
    if (subject.authenticatedAt) claims.auth_time = Math.floor(subject.authenticatedAt.getTime() / 1000);
    const key = this.options.keys.active;
    const header = { alg: key.algorithm, typ: ACCESS_TOKEN_TYPE, kid: key.kid };
    return { token: this.signJws(header, claims), expiresAt: new Date(exp * 1000) };
  }

  /**
   * Verifies a token completely (signature with the key its `kid` names, header,
   * claims, expiry on the injected clock) and returns its claims, frozen. Throws
   * `SessionUnauthorizedException` with `token_invalid` or `token_expired`.
   *
   * A client sends the same access token with every request for its whole lifetime,
   * so tokens that verified are remembered (`verifiedTokenCacheSize`, keyed by the
   * complete token string): a later request with the very same bytes skips the
   * signature check and the decoding, but its `exp`, `iat` and `nbf` are checked
   * against the clock again, and revocation is checked by the caller as always. Only
   * tokens that verified are ever stored, so a stream of forged tokens cannot fill or
   * flush it; the key ring is fixed for the life of the service.
   */
  verify(token: string): AccessTokenClaims {
    const known = this.verified.get(token);
    if (known) return this.checkTimes(known, token);
    const verified = this.verifyUncached(token);
    this.checkTimes(verified, token);
    // Oldest first out when full; a size of 0 keeps nothing. The key is a copy of the token:
    // the token is usually a slice of the request's `Authorization` or `Cookie` header, and
    // V8 keeps a slice's whole parent string alive, so the cache would hold every client's
    // complete header (other cookies included) instead of ~350 bytes (seen in the soak's heap
    // snapshots, docs/reliability.md). A verified token is ASCII: latin1 copies it exactly.
    if (token.length <= MAX_CACHED_TOKEN_LENGTH) this.verified.set(Buffer.from(token, 'latin1').toString('latin1'), verified);
    return verified.claims;
  }

  /** The custom claims of claims returned by `verify`, frozen (`{}` when there are none). */
  customClaims(claims: AccessTokenClaims): Readonly<StoredClaims> {
    return this.customByClaims.get(claims) ?? NO_CLAIMS;
  }

  /** Number of remembered verified tokens (for tests and metrics). */
  get verifiedTokenCount(): number {
    return this.verified.size;
  }

  /** Signature, header and claim shapes; the times are left to `checkTimes`. */
  private verifyUncached(token: string): VerifiedToken {
    const invalid = () => new SessionUnauthorizedException(AuthErrorCode.TokenInvalid);
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw invalid();
    const first = token.indexOf('.');
    const second = token.indexOf('.', first + 1);
    if (first <= 0 || second <= first + 1 || second === token.length - 1 || token.indexOf('.', second + 1) !== -1) {
      throw invalid();
    }
    const key = this.keyForHeader(token.slice(0, first));
    if (!key) throw invalid();
    const signature = token.slice(second + 1);
    if (!SEGMENT.test(signature) || !this.signatureMatches(key, token.slice(0, second), signature)) throw invalid();
    const payload = decodeJson(token.slice(first + 1, second));
    if (!payload) throw invalid();
    return this.checkClaims(payload);
  }

  /**
   * `iat` and `nbf` not in the future, `exp` not past, on the injected clock with the
   * skew leeway; run on every use of a token, remembered or not. An expired token is
   * forgotten.
   */
  private checkTimes(verified: VerifiedToken, token: string): AccessTokenClaims {
    const nowMs = this.options.clock.now().getTime();
    const skew = this.options.clockSkewMs;
    if (verified.iatMs > nowMs + skew || verified.nbfMs > nowMs + skew) {
      throw new SessionUnauthorizedException(AuthErrorCode.TokenInvalid);
    }
    if (verified.expMs <= nowMs - skew) {
      this.verified.delete(token);
      throw new SessionUnauthorizedException(AuthErrorCode.TokenExpired);
    }
    return verified.claims;
  }

  /**
   * The key a JOSE header names, if the header is acceptable: a known `kid`, the `alg`
   * pinned to that key, `typ: at+jwt`, none of the forbidden parameters. Every token a
   * key signs has the same header, so accepted headers are remembered (a few at most).
   */
  private keyForHeader(segment: string): ResolvedAccessTokenKey | undefined {
    const known = this.acceptedHeaders.get(segment);
    if (known) return known;
    const header = decodeJson(segment);
    const key = header && typeof header.kid === 'string' ? this.options.keys.byKid.get(header.kid) : undefined;
    if (!header || !key || header.alg !== key.algorithm || header.typ !== ACCESS_TOKEN_TYPE) return undefined;
    if (FORBIDDEN_HEADERS.some((name) => name in header)) return undefined;
    // When full, the first headers stay: later ones are decoded each time, never pushing those out.
    if (!this.acceptedHeaders.isFull) this.acceptedHeaders.set(segment, key);
    return key;
  }

  /** The public keys of the ring (Ed25519 only: HS256 secrets are never published). */
  jwks(): JwksDocument {
    return {
      keys: [...this.options.keys.byKid.values()].flatMap((key) => (key.publicJwk ? [{ ...key.publicJwk }] : [])),
    };
  }

  /** JWS compact serialization (RFC 7515 §7.1) under the active key: HMAC-SHA256 or Ed25519. */
  private signJws(header: { alg: string }, claims: AccessTokenClaims): string {
    const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    const key = this.options.keys.active.signingKey;
    const signature =
      header.alg === 'HS256' ? createHmac('sha256', key).update(input).digest() : signBytes(null, Buffer.from(input), key);
    return `${input}.${signature.toString('base64url')}`;
  }

  private signatureMatches(key: ResolvedAccessTokenKey, input: string, signature: string): boolean {
    // Only the canonical encoding: otherwise flipping the unused low bits of the last
    // character would give another token string with the same signature (RFC 7515 §2).
    const canonical = CANONICAL[key.algorithm];
    if (signature.length !== canonical.length || !canonical.last.test(signature)) return false;
    const given = Buffer.from(signature, 'base64url');
    if (key.algorithm === 'HS256') {
      const expected = createHmac('sha256', key.verifyKey).update(input).digest();
      return given.length === expected.length && timingSafeEqual(given, expected);
    }
    return given.length === 64 && verifyBytes(null, Buffer.from(input), key.verifyKey, given);
  }

  /** Checks the claims' shapes, issuer and audience; returns them frozen, with their times in milliseconds. */
  private checkClaims(payload: Record<string, unknown>): VerifiedToken {
    const invalid = () => new SessionUnauthorizedException(AuthErrorCode.TokenInvalid);
    const { iss, aud, sub, sid, jti, iat, exp, nbf, roles } = payload;
    if (iss !== this.options.issuer) throw invalid();
    if (aud !== this.options.audience && !(Array.isArray(aud) && aud.includes(this.options.audience))) throw invalid();
    if (typeof sub !== 'string' || sub === '' || typeof sid !== 'string' || sid === '' || typeof jti !== 'string') {
      throw invalid();
    }
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= iat) throw invalid();
    if (!Array.isArray(roles) || roles.some((role) => typeof role !== 'string')) throw invalid();
    if (nbf !== undefined && typeof nbf !== 'number') throw invalid();
    const authTime = payload.auth_time;
    if (authTime !== undefined && (typeof authTime !== 'number' || !Number.isFinite(authTime))) throw invalid();
    // Frozen: the same object is handed out for every request that carries this token.
    Object.freeze(roles);
    let custom = NO_CLAIMS;
    for (const name of Object.keys(payload)) {
      if (OWN_CLAIMS.has(name)) continue;
      // A registered claim we do not issue is not the app's either.
      if (RESERVED_CLAIMS.has(name)) continue;
      if (custom === NO_CLAIMS) custom = {};
      (custom as StoredClaims)[name] = payload[name] as StoredClaims[string];
    }
    const claims = Object.freeze(payload) as unknown as AccessTokenClaims;
    if (custom !== NO_CLAIMS) this.customByClaims.set(claims, deepFreeze(custom as StoredClaims));
    return {
      claims,
      iatMs: iat * 1000,
      nbfMs: typeof nbf === 'number' ? nbf * 1000 : 0,
      expMs: exp * 1000,
    };
  }
}
