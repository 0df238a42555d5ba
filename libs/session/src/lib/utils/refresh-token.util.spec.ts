import { createSecretKey } from 'node:crypto';
import { mintRefreshToken, successorOf, verifyRefreshToken } from './refresh-token.util';

const key = createSecretKey(Buffer.from('refresh-token-util-spec-key-0123456789abcdef'));
const otherKey = createSecretKey(Buffer.from('refresh-token-util-spec-other-key-0123456789'));
const SESSION_ID = 'AAAAAAAAAAAAAAAAAAAAAA';

/** The same 32 bytes spelled differently: base64url's last of 43 characters carries 2 unused bits. */
function nonCanonical(encoded: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(encoded[encoded.length - 1]);
  return encoded.slice(0, -1) + alphabet[last ^ 1];
}

describe('refresh tokens <sid>.<generation>.<seed>.<mac>', () => {
  it('mints a token that verifies, and its successor keeps the seed with the next generation', () => {
    const first = mintRefreshToken(key, SESSION_ID, 0);
    expect(first.token).toMatch(/^A{22}\.0\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/);
    expect(verifyRefreshToken(key, first.token)).toEqual(first);
    const next = successorOf(key, first);
    expect(next).toMatchObject({ sessionId: SESSION_ID, generation: 1, seed: first.seed });
    expect(verifyRefreshToken(key, next.token)).toEqual(next);
    expect(successorOf(key, first)).toEqual(next); // deterministic: the grace window relies on it
  });

  it('draws a new 256-bit seed for every session', () => {
    const seeds = new Set(Array.from({ length: 100 }, () => mintRefreshToken(key, SESSION_ID, 0).seed));
    expect(seeds.size).toBe(100);
    for (const seed of seeds) expect(Buffer.from(seed, 'base64url')).toHaveLength(32);
  });

  it('refuses a token under another key, with a changed part, or a non-canonical spelling', () => {
    const genuine = mintRefreshToken(key, SESSION_ID, 7);
    const [sid, , seed, mac] = genuine.token.split('.');
    const refused = [
      mintRefreshToken(otherKey, SESSION_ID, 7, seed).token,
      `${'B'.repeat(22)}.7.${seed}.${mac}`,
      `${sid}.6.${seed}.${mac}`,
      `${sid}.07.${seed}.${mac}`,
      `${sid}.7.${nonCanonical(seed)}.${mac}`,
      `${sid}.7.${seed}.${nonCanonical(mac)}`,
      `${sid}.7.${seed}`,
      `${genuine.token}.`,
      ` ${genuine.token}`,
    ];
    for (const token of refused) expect(verifyRefreshToken(key, token)).toBeUndefined();
    expect(Buffer.from(nonCanonical(mac), 'base64url')).toEqual(Buffer.from(mac, 'base64url'));
  });

  it('refuses what is not a string', () => {
    for (const value of [undefined, null, 7, {}, [mintRefreshToken(key, SESSION_ID, 0).token]]) {
      expect(verifyRefreshToken(key, value)).toBeUndefined();
    }
  });
});
