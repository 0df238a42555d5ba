import type { KeyObject } from 'node:crypto';
import { hmac, randomToken, safeEqual } from './crypto.util';

// `<session id>.<generation>.<seed>.<mac>`: the seed is 32 random bytes drawn once per
// session (256 bits, RFC 9700 §4.14) and never stored; the mac is an HMAC of the rest under
// the server key. A rotation keeps the seed and bumps the generation, so a successor depends
// only on the presented token and the key (a repeat inside the grace window gets the same
// one), and whether a token is genuine, or an earlier token of a session, is decided with a
// constant number of HMACs instead of walking a chain (issue 12, finding 2).
const PATTERN = /^([A-Za-z0-9_-]{22})\.(0|[1-9][0-9]{0,8})\.([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})$/;

/** A refresh token whose mac verified under the server key. */
export interface RefreshToken {
  /** The whole token, as the client holds it. */
  token: string;
  sessionId: string;
  generation: number;
  seed: string;
}

/** Mints the token of `sessionId` at `generation`; a new random seed unless one is given. */
export function mintRefreshToken(key: KeyObject, sessionId: string, generation: number, seed = randomToken(32)): RefreshToken {
  return { token: `${sessionId}.${generation}.${seed}.${mac(key, sessionId, generation, seed)}`, sessionId, generation, seed };
}

/**
 * The token if it is well formed and its mac verifies (one HMAC, constant-time compare);
 * undefined for anything else, tokens of the former 3-part grammar included.
 */
export function verifyRefreshToken(key: KeyObject, value: unknown): RefreshToken | undefined {
  if (typeof value !== 'string') return undefined;
  const match = PATTERN.exec(value);
  if (!match) return undefined;
  const [, sessionId, digits, seed, presentedMac] = match;
  const generation = Number(digits);
  // Compared as strings, not decoded bytes, so a non-canonical base64url spelling of the
  // mac is a different, invalid token.
  if (!safeEqual(presentedMac, mac(key, sessionId, generation, seed))) return undefined;
  return { token: value, sessionId, generation, seed };
}

/** The token that replaces `token` at the next rotation. */
export function successorOf(key: KeyObject, token: RefreshToken): RefreshToken {
  return mintRefreshToken(key, token.sessionId, token.generation + 1, token.seed);
}

function mac(key: KeyObject, sessionId: string, generation: number, seed: string): string {
  // Domain-separated from every other HMAC under the same key (stored token hashes start
  // with a session id, which has no dot; CSRF and fingerprints use their own prefixes).
  return hmac(key, `tessera.refresh.v2.${sessionId}.${generation}.${seed}`);
}
