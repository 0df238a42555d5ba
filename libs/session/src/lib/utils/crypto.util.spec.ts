import { randomToken } from './crypto.util';

describe('randomToken', () => {
  it('gives base64url strings of the asked length, never the same twice across refills of its pool', () => {
    const seen = new Set<string>();
    // 3,000 × 16 + 1,000 × 32 bytes: about twenty 4 KiB draws from the CSPRNG.
    for (let i = 0; i < 3_000; i++) {
      const token = randomToken(16);
      expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      seen.add(token);
    }
    for (let i = 0; i < 1_000; i++) {
      const token = randomToken(32);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      seen.add(token);
    }
    expect(seen.size).toBe(4_000);
  });

  it('draws large sizes directly', () => {
    const token = randomToken(1_024);
    expect(Buffer.from(token, 'base64url')).toHaveLength(1_024);
    expect(randomToken(1_024)).not.toBe(token);
  });

  it('looks uniform: each of the 64 characters appears about equally often', () => {
    const counts = new Map<string, number>();
    const text = Array.from({ length: 2_000 }, () => randomToken(30)).join('');
    for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(64);
    const expected = text.length / 64;
    for (const count of counts.values()) expect(Math.abs(count - expected)).toBeLessThan(expected * 0.25);
  });
});
