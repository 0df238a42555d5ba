import type { ClaimValue, StoredClaims } from '../interfaces/session.interface';

/** Largest custom-claims object, serialized as JSON (UTF-8 bytes): access tokens travel in every request and in a 4 kB cookie. */
export const MAX_CLAIMS_BYTES = 1_024;
// Nesting allowed inside a claim value; real claims are flat or one level deep.
const MAX_CLAIM_DEPTH = 8;
// Text JSON can carry but stores cannot: NUL (PostgreSQL's jsonb refuses it) and lone
// UTF-16 surrogates (not Unicode; jsonb refuses them, other backends mangle them).
// eslint-disable-next-line no-control-regex -- NUL is exactly what is looked for
const UNSTORABLE_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Claim names a custom claim may not take: ours (`sid`, `roles`), the registered JWT
 * claims (RFC 7519 §4.1), those of the access-token profile (RFC 9068 §2.2), and
 * others with a meaning verifiers act on (RFC 7800 `cnf`, RFC 8693 `act`/`may_act`,
 * OpenID Connect Core §2 and §3.1.3.6, RFC 8417 `events`/`toe`/`txn`).
 */
export const RESERVED_CLAIMS: ReadonlySet<string> = new Set([
  'iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti',
  'sid', 'roles',
  'client_id', 'scope', 'auth_time', 'acr', 'amr', 'groups', 'entitlements',
  'typ', 'cnf', 'act', 'may_act', 'azp', 'nonce', 'at_hash', 'c_hash', 'sub_jwk', 'events', 'toe', 'txn',
  '__proto__', 'constructor', 'prototype',
]);

/** A `claims` result Tessera refuses to sign (a programmer error: the message says which claim and why, never its value). */
export class SessionClaimsError extends Error {
  override readonly name = 'SessionClaimsError';
}

const ERRORS = {
  notObject: 'SessionModule option "claims" must return a plain object of claims.',
  reserved: (name: string) =>
    `SessionModule option "claims" returned the claim "${name}", a registered name that verifiers give its own meaning (see RESERVED_CLAIMS): rename it.`,
  badName: 'SessionModule option "claims" returned an empty claim name.',
  badText: (path: string) =>
    `SessionModule option "claims" returned text at "${path}" with a NUL character or a lone surrogate, which no store keeps as is.`,
  notJson: (path: string) =>
    `SessionModule option "claims" returned a value at "${path}" that is not JSON (only strings, finite numbers, booleans, null, arrays and plain objects).`,
  tooDeep: (path: string) => `SessionModule option "claims" nests deeper than ${MAX_CLAIM_DEPTH} levels at "${path}".`,
  tooLarge: (bytes: number) =>
    `SessionModule option "claims" returned ${bytes} bytes of JSON; at most ${MAX_CLAIMS_BYTES} are allowed (keep claims small; look up anything larger on the server).`,
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  // Any realm's Object.prototype (the root of its chain), not only this one's: objects from
  // structuredClone, a vm context or a worker are plain too. Class instances are not.
  const prototype = Object.getPrototypeOf(value) as object | null;
  return prototype === null || Object.getPrototypeOf(prototype) === null;
}

/** Throws unless `value` is JSON exactly as it will round-trip (no Date, Map, undefined, NaN, class instance). */
function checkJson(value: unknown, path: string, depth: number): void {
  if (typeof value === 'string') {
    if (UNSTORABLE_TEXT.test(value)) throw new SessionClaimsError(ERRORS.badText(path));
    return;
  }
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SessionClaimsError(ERRORS.notJson(path));
    return;
  }
  if (depth >= MAX_CLAIM_DEPTH) throw new SessionClaimsError(ERRORS.tooDeep(path));
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJson(item, `${path}[${index}]`, depth + 1));
    return;
  }
  if (!isPlainObject(value)) throw new SessionClaimsError(ERRORS.notJson(path));
  for (const [key, item] of Object.entries(value)) {
    if (UNSTORABLE_TEXT.test(key)) throw new SessionClaimsError(ERRORS.badText(path));
    checkJson(item, `${path}.${key}`, depth + 1);
  }
}

/**
 * The custom claims an app's `claims` function returned, checked and copied: a plain
 * object of JSON values, no reserved name, at most `MAX_CLAIMS_BYTES` serialized.
 * Throws `SessionClaimsError` otherwise; `undefined` or `null` mean none.
 */
export function checkedClaims(value: unknown): StoredClaims {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw new SessionClaimsError(ERRORS.notObject);
  for (const [name, item] of Object.entries(value)) {
    if (name === '') throw new SessionClaimsError(ERRORS.badName);
    if (RESERVED_CLAIMS.has(name)) throw new SessionClaimsError(ERRORS.reserved(name));
    if (UNSTORABLE_TEXT.test(name)) throw new SessionClaimsError(ERRORS.badText('(a claim name)'));
    checkJson(item, name, 1);
  }
  const json = JSON.stringify(value);
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_CLAIMS_BYTES) throw new SessionClaimsError(ERRORS.tooLarge(bytes));
  return JSON.parse(json) as StoredClaims;
}

/** JSON with every object's keys sorted: PostgreSQL's jsonb, for one, does not keep key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether two claim objects hold the same JSON, whatever the order of their keys. */
export function sameClaims(a: StoredClaims, b: StoredClaims): boolean {
  return a === b || canonicalJson(a) === canonicalJson(b);
}

/** Deep-freezes a JSON value (claims handed to every request that carries the same token). */
export function deepFreeze<T extends ClaimValue | StoredClaims>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item as ClaimValue);
    Object.freeze(value);
  }
  return value;
}
