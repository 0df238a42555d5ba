import { createSecretKey } from 'node:crypto';
import type { SessionRecord } from '../interfaces/session-store.interface';
import { REFRESH_TOKEN_PATTERN, RefreshTokenChain, SESSION_ID_PATTERN, claimedSessionIdOf } from './refresh-token-chain';
import type { RefreshToken } from './refresh-token-chain';

const chain = new RefreshTokenChain(createSecretKey(Buffer.from('refresh-token-util-spec-key-0123456789abcdef')), 0);
const otherChain = new RefreshTokenChain(createSecretKey(Buffer.from('refresh-token-util-spec-other-key-0123456789')), 0);
const SESSION_ID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** The same 32 bytes spelled differently: base64url's last of 43 characters carries 2 unused bits. */
function nonCanonical(encoded: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(encoded[encoded.length - 1]);
  return encoded.slice(0, -1) + alphabet[last ^ 1];
}

describe('refresh tokens <sid>.<generation>.<seed>.<mac>', () => {
  it('mints a token that verifies, and its successor keeps the seed with the next generation', () => {
    const first = chain.mint(SESSION_ID, 0);
    expect(first.token).toMatch(/^A{22}\.0\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(chain.verify(first.token)).toEqual(first);
    const next = chain.successorOf(first);
    expect(next).toMatchObject({ sessionId: SESSION_ID, generation: 1, seed: first.seed });
    expect(chain.verify(next.token)).toEqual(next);
    expect(chain.successorOf(first)).toEqual(next); // deterministic: the grace window relies on it
  });

  it('draws a new 256-bit seed for every session', () => {
    const seeds = new Set(Array.from({ length: 100 }, () => chain.mint(SESSION_ID, 0).seed));
    expect(seeds.size).toBe(100);
    for (const seed of seeds) expect(Buffer.from(seed, 'base64url')).toHaveLength(32);
  });

  it('refuses a token under another key, with a changed part, or a non-canonical spelling', () => {
    const genuine = chain.mint(SESSION_ID, 7);
    const [sid, , seed, mac] = genuine.token.split('.');
    const refused = [
      otherChain.mint(SESSION_ID, 7, seed).token,
      `${'B'.repeat(22)}.7.${seed}.${mac}`,
      `${sid}.6.${seed}.${mac}`,
      `${sid}.07.${seed}.${mac}`,
      `${sid}.7.${nonCanonical(seed)}.${mac}`,
      `${sid}.7.${seed}.${nonCanonical(mac)}`,
      `${sid}.7.${seed}`,
      `${genuine.token}.`,
      ` ${genuine.token}`,
    ];
    for (const token of refused) expect(chain.verify(token)).toBeUndefined();
    expect(Buffer.from(nonCanonical(mac), 'base64url')).toEqual(Buffer.from(mac, 'base64url'));
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 7, {}, [chain.mint(SESSION_ID, 0).token]]) {
      expect(chain.verify(value)).toBeUndefined();
    }
  });
});

describe('the session-id and token grammar', () => {
  it('matches whole session ids only, and refresh tokens by their four parts', () => {
    expect(SESSION_ID_PATTERN.test(SESSION_ID)).toBe(true);
    for (const id of ['A'.repeat(21), 'A'.repeat(23), `${'A'.repeat(21)}=`, ` ${SESSION_ID}`]) {
      expect(SESSION_ID_PATTERN.test(id)).toBe(false);
    }
    const token = chain.mint(SESSION_ID, 3);
    expect(REFRESH_TOKEN_PATTERN.exec(token.token)?.slice(1, 4)).toEqual([SESSION_ID, '3', token.seed]);
  });

  it('reads the claimed session id from any token starting with one, verified or not', () => {
    expect(claimedSessionIdOf(`${SESSION_ID}.anything`)).toBe(SESSION_ID);
    expect(claimedSessionIdOf(SESSION_ID)).toBeUndefined();
    expect(claimedSessionIdOf(`x${SESSION_ID}.0`)).toBeUndefined();
  });
});

describe('where a token stands in its session', () => {
  const graceChain = new RefreshTokenChain(createSecretKey(Buffer.from('refresh-token-util-spec-key-0123456789abcdef')), 10_000);
  const rotatedAt = new Date('2030-01-01T00:00:00Z');
  const later = (ms: number) => new Date(rotatedAt.getTime() + ms);

  /** A session whose current token is `current`, rotated from `previous` at `rotatedAt`. */
  function sessionAt(current: RefreshToken, previous?: RefreshToken): SessionRecord {
    return {
      id: current.sessionId,
      userId: 'user',
      roles: [],
      claims: {},
      refreshHash: graceChain.hash(current.token),
      previousRefreshHash: previous ? graceChain.hash(previous.token) : null,
      generation: current.generation,
      rotatedAt: previous ? rotatedAt : null,
      createdAt: rotatedAt,
      authenticatedAt: rotatedAt,
      lastSeenAt: rotatedAt,
      expiresAt: later(3_600_000),
      absoluteExpiresAt: later(3_600_000),
      revokedAt: null,
      revokedReason: null,
      userAgent: null,
      ip: null,
    };
  }

  const first = graceChain.mint(SESSION_ID, 0);
  const second = graceChain.successorOf(first);
  const third = graceChain.successorOf(second);

  it('holds the current token, and the one just replaced within the grace window only', () => {
    const session = sessionAt(second, first);
    expect(graceChain.holds(session, second.token, later(60_000))).toBe(true);
    expect(graceChain.holds(session, first.token, later(10_000))).toBe(true);
    expect(graceChain.holds(session, first.token, later(10_001))).toBe(false);
    expect(graceChain.holds(session, third.token, later(0))).toBe(false);
  });

  it('tells the just-replaced token, an earlier one and a foreign one apart', () => {
    const session = sessionAt(third, second);
    expect(graceChain.standing(session, second, third.token, later(10_000))).toBe('just_replaced');
    expect(graceChain.standing(session, second, third.token, later(10_001))).toBe('earlier');
    expect(graceChain.standing(session, first, second.token, later(0))).toBe('earlier');
    expect(graceChain.standing(session, third, graceChain.successorOf(third).token, later(0))).toBe('unknown');
    const stranger = graceChain.mint(SESSION_ID, 1);
    expect(graceChain.standing(session, stranger, graceChain.successorOf(stranger).token, later(0))).toBe('unknown');
  });
});
