import { createHash, createPrivateKey, createPublicKey, createSecretKey, KeyObject } from 'node:crypto';
import { CONFIG_ERROR_MESSAGES } from '../constants';
import { SessionConfigError } from '../exceptions/session-config.error';
import type { AccessTokenAlgorithm, AccessTokenKeyOptions, SessionModuleOptions } from '../interfaces/session-module-options.interface';

/** Public half of an Ed25519 key as a JWK (RFC 8037), as the JWKS document lists it. */
export interface PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg: 'EdDSA';
  use: 'sig';
}

/** One key of the ring, ready to use. */
export interface ResolvedAccessTokenKey {
  kid: string;
  algorithm: AccessTokenAlgorithm;
  /** HS256: the secret; EdDSA: the public key. */
  verifyKey: KeyObject;
  /** HS256: the secret; EdDSA: the private key, when given. */
  signingKey?: KeyObject;
  /** EdDSA only. */
  publicJwk?: PublicJwk;
}

/** Every key that verifies, and the one that signs. */
export interface ResolvedKeyRing {
  active: ResolvedAccessTokenKey & { signingKey: KeyObject };
  byKid: ReadonlyMap<string, ResolvedAccessTokenKey>;
  /** Raw HS256 secrets, so the session secret can be checked against them. */
  hmacSecrets: Buffer[];
}

/** Minimum HS256 key length: RFC 7518 §3.2 asks for a key as long as the hash output. */
export const MIN_KEY_BYTES = 32;
const ALGORITHMS: readonly AccessTokenAlgorithm[] = ['HS256', 'EdDSA'];

/** The bytes of a secret option, refused when missing or shorter than 32 bytes. */
export function secretBytes(option: string, value: string | Buffer | undefined): Buffer {
  if (value === undefined || value === null || value === '') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.secretMissing(option));
  }
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
  if (bytes.length < MIN_KEY_BYTES) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.secretTooShort(option, bytes.length));
  }
  return bytes;
}

function asymmetric(option: string, value: string | KeyObject, kind: 'private' | 'public'): KeyObject {
  let key: KeyObject;
  try {
    if (value instanceof KeyObject) key = value;
    else key = kind === 'private' ? createPrivateKey(value) : createPublicKey(value);
  } catch {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badEd25519Key(option));
  }
  if (key.type !== kind || key.asymmetricKeyType !== 'ed25519') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badEd25519Key(option));
  }
  return key;
}

function hs256Kid(secret: Buffer): string {
  // Names the key without revealing it.
  return createHash('sha256').update(secret).digest('base64url').slice(0, 12);
}

function resolveKey(option: string, key: AccessTokenKeyOptions, hmacSecrets: Buffer[]): ResolvedAccessTokenKey {
  if (!ALGORITHMS.includes(key.algorithm)) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.unknownKeyAlgorithm(`${option}.algorithm`, key.algorithm));
  }
  if (key.kid !== undefined && (typeof key.kid !== 'string' || key.kid.trim() === '')) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.badString(option === 'jwtSecret' ? 'jwtKeyId' : `${option}.kid`));
  }
  if (key.algorithm === 'HS256') {
    if (key.privateKey !== undefined || key.publicKey !== undefined) {
      throw new SessionConfigError(CONFIG_ERROR_MESSAGES.mixedKey(option));
    }
    const bytes = secretBytes(option === 'jwtSecret' ? option : `${option}.secret`, key.secret);
    hmacSecrets.push(bytes);
    const secret = createSecretKey(bytes);
    return { kid: key.kid ?? hs256Kid(bytes), algorithm: 'HS256', verifyKey: secret, signingKey: secret };
  }
  if (key.secret !== undefined) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.mixedKey(option));
  if (key.privateKey === undefined && key.publicKey === undefined) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.secretMissing(`${option}.publicKey`));
  }
  const privateKey = key.privateKey === undefined ? undefined : asymmetric(`${option}.privateKey`, key.privateKey, 'private');
  const publicKey =
    key.publicKey === undefined
      ? createPublicKey(privateKey as KeyObject)
      : asymmetric(`${option}.publicKey`, key.publicKey, 'public');
  const x = publicKey.export({ format: 'jwk' }).x as string;
  if (privateKey && createPublicKey(privateKey).export({ format: 'jwk' }).x !== x) {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.keyPairMismatch(option));
  }
  // RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order.
  const kid = key.kid ?? createHash('sha256').update(JSON.stringify({ crv: 'Ed25519', kty: 'OKP', x })).digest('base64url');
  return {
    kid,
    algorithm: 'EdDSA',
    verifyKey: publicKey,
    signingKey: privateKey,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' },
  };
}

/** Builds the key ring from `jwtSecret` and/or `keys`; refuses anything ambiguous. */
export function resolveKeyRing(options: SessionModuleOptions): ResolvedKeyRing {
  if (options.algorithm !== undefined && options.algorithm !== 'HS256') {
    throw new SessionConfigError(CONFIG_ERROR_MESSAGES.unknownAlgorithm(options.algorithm));
  }
  const configured: Array<[string, AccessTokenKeyOptions]> = (options.keys ?? []).map((key, index) => [
    `keys[${index}]`,
    key,
  ]);
  if (options.jwtSecret !== undefined || configured.length === 0) {
    configured.push(['jwtSecret', { algorithm: 'HS256', secret: options.jwtSecret, kid: options.jwtKeyId }]);
  }
  const hmacSecrets: Buffer[] = [];
  const byKid = new Map<string, ResolvedAccessTokenKey>();
  for (const [option, key] of configured) {
    const resolved = resolveKey(option === 'jwtSecret' ? 'jwtSecret' : option, key, hmacSecrets);
    if (byKid.has(resolved.kid)) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.duplicateKid(resolved.kid));
    byKid.set(resolved.kid, resolved);
  }
  const activeKid = options.activeKeyId ?? [...byKid.keys()][0];
  const active = byKid.get(activeKid);
  if (!active) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.unknownActiveKey(activeKid));
  if (!active.signingKey) throw new SessionConfigError(CONFIG_ERROR_MESSAGES.activeKeyCannotSign(activeKid));
  return { active: active as ResolvedKeyRing['active'], byKid, hmacSecrets };
}
