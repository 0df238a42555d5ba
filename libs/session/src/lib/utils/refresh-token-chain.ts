import type { KeyObject } from 'node:crypto';
import type { SessionRecord } from '../interfaces/session-store.interface';
import { hmac, randomToken, safeEqual } from './crypto.util';

// A session id is 16 random bytes in base64url.
const SESSION_ID = '[A-Za-z0-9_-]{22}';

/** A whole session id (16 random bytes in base64url); anything else names no session. */
export const SESSION_ID_PATTERN = new RegExp(`^${SESSION_ID}$`);

/**
 * The refresh-token grammar `<session id>.<generation>.<seed>.<mac>`, each part captured.
 * The seed is 32 random bytes drawn once per session (256 bits, RFC 9700 §4.14) and never
 * stored; the mac is an HMAC of the rest under the server key.
 */
export const REFRESH_TOKEN_PATTERN = new RegExp(
  `^(${SESSION_ID})\\.(0|[1-9][0-9]{0,8})\\.([A-Za-z0-9_-]{43})\\.([A-Za-z0-9_-]{43})$`,
);

const SESSION_PREFIX = new RegExp(`^(${SESSION_ID})\\.`);

/** The session id a refresh token starts with, unverified (no HMAC); undefined if none. */
export function claimedSessionIdOf(refreshToken: string): string | undefined {
  return SESSION_PREFIX.exec(refreshToken)?.[1];
}

/** A refresh token whose mac verified under the server key. */
export interface RefreshToken {
  /** The whole token, as the client holds it. */
  token: string;
  sessionId: string;
  generation: number;
  seed: string;
}

/** Where a verified token that failed to rotate stands in its session's chain. */
export type RefreshTokenStanding = 'just_replaced' | 'earlier' | 'unknown';

/**
 * The refresh tokens of sessions under one server key: minting, verifying, hashing for
 * the store, successor derivation and where a presented token stands in its chain.
 *
 * A rotation keeps the seed and bumps the generation, so a successor depends only on the
 * presented token and the key (a repeat inside the grace window gets the same one), and
 * whether a token is genuine, or an earlier token of a session, is decided with a constant
 * number of HMACs instead of walking a chain. Pure: it neither reads nor writes the store.
 */
export class RefreshTokenChain {
  /** `graceMs`: how long the token a rotation replaced still gets the same successor. */
  constructor(
    private readonly key: KeyObject,
    private readonly graceMs: number,
  ) {}

  /** Mints the token of `sessionId` at `generation`; a new random seed unless one is given. */
  mint(sessionId: string, generation: number, seed = randomToken(32)): RefreshToken {
    return { token: `${sessionId}.${generation}.${seed}.${this.mac(sessionId, generation, seed)}`, sessionId, generation, seed };
  }

  /**
   * The token if it is well formed and its mac verifies (one HMAC, constant-time compare);
   * undefined for anything else, tokens of the former 3-part grammar included.
   */
  verify(value: unknown): RefreshToken | undefined {
    if (typeof value !== 'string') return undefined;
    const match = REFRESH_TOKEN_PATTERN.exec(value);
    if (!match) return undefined;
    const [, sessionId, digits, seed, presentedMac] = match;
    const generation = Number(digits);
    // Compared as strings, not decoded bytes, so a non-canonical base64url spelling of the
    // mac is a different, invalid token.
    if (!safeEqual(presentedMac, this.mac(sessionId, generation, seed))) return undefined;
    return { token: value, sessionId, generation, seed };
  }

  /** The token that replaces `token` at the next rotation. */
  successorOf(token: RefreshToken): RefreshToken {
    return this.mint(token.sessionId, token.generation + 1, token.seed);
  }

  /** Keyed hash under which a refresh token is stored; the token itself is never stored. */
  hash(refreshToken: string): string {
    return hmac(this.key, refreshToken);
  }

  /**
   * Whether `refreshToken` is the session's current token, or the one the last rotation
   * replaced within the grace window. The session is assumed live.
   */
  holds(session: SessionRecord, refreshToken: string, now: Date): boolean {
    const hash = this.hash(refreshToken);
    return hash === session.refreshHash || (hash === session.previousRefreshHash && this.inGrace(session, now));
  }

  /**
   * Where a verified token whose rotation was refused stands in `session` (live):
   * `just_replaced` when the last rotation replaced it within the grace window and gave it
   * `successor` (hand that out again, no write), `earlier` for any earlier token of the
   * session (reuse, RFC 9700 §4.14.2), else `unknown`.
   */
  standing(session: SessionRecord, presented: RefreshToken, successor: string, now: Date): RefreshTokenStanding {
    if (
      presented.generation === session.generation - 1 &&
      this.hash(presented.token) === session.previousRefreshHash &&
      this.inGrace(session, now) &&
      this.hash(successor) === session.refreshHash
    ) {
      return 'just_replaced';
    }
    return this.isEarlierTokenOf(session, presented) ? 'earlier' : 'unknown';
  }

  /**
   * An earlier generation with this session's seed, i.e. the session's current token
   * rebuilt from the presented seed is the one stored. Two HMACs whatever the distance.
   * The seed check keeps a token minted for another seed (only a key holder could) from
   * revoking.
   */
  private isEarlierTokenOf(session: SessionRecord, presented: RefreshToken): boolean {
    if (presented.generation >= session.generation) return false;
    const current = this.mint(presented.sessionId, session.generation, presented.seed);
    return safeEqual(this.hash(current.token), session.refreshHash);
  }

  private inGrace(session: SessionRecord, now: Date): boolean {
    return session.rotatedAt !== null && now.getTime() - session.rotatedAt.getTime() <= this.graceMs;
  }

  private mac(sessionId: string, generation: number, seed: string): string {
    // Domain-separated from every other HMAC under the same key (stored token hashes start
    // with a session id, which has no dot; CSRF and fingerprints use their own prefixes).
    return hmac(this.key, `tessera.refresh.v2.${sessionId}.${generation}.${seed}`);
  }
}
