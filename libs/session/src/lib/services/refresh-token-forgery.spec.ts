import type { TestingModule } from '@nestjs/testing';
import crypto from 'node:crypto';
import { FakeClock } from '../../testing';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import { SessionStore } from '../interfaces/session-store.interface';
import { SessionService } from './session.service';
import { failureCode } from '../../../test/support/failure-code';
import { compileSessionModule } from '../../../test/support/session-module';
import { STORE_METHODS } from '../options/session-options';

// Finding 2 of issue 12: deciding whether a refresh token is an earlier token of its
// session used to walk the chain of successors (one HMAC per generation, up to 10,000),
// so anyone who knew a session id could make the server spend ~10,000 HMACs per
// request with a made-up `<sid>.0.<secret>`. These tests count work, never time.

const jwtSecret = 'forgery-spec-jwt-secret-0123456789abcdefgh';
const sessionSecret = 'forgery-spec-session-secret-0123456789abc';
const GRACE_PASSED = 11_000;
const HIGH_GENERATION = 10_000;
const FAR_BEHIND = 5_000;
/** A generous bound on the work of a refused token: a constant, whatever the generation. */
const MAX_HMACS = 3;

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Deterministic PRNG (mulberry32), so a failing case can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomB64(random: () => number, length: number): string {
  return Array.from({ length }, () => B64URL[Math.floor(random() * 64)]).join('');
}

/** Replaces the character at `index` by another base64url character. */
function mutateAt(value: string, index: number, random: () => number): string {
  const other = B64URL[(B64URL.indexOf(value[index]) + 1 + Math.floor(random() * 63)) % 64];
  return value.slice(0, index) + other + value.slice(index + 1);
}

/** A token the way the server mints one: `<sid>.<generation>.<seed>.<mac>`. */
function mint(sessionId: string, generation: number, seed: string): string {
  const mac = crypto
    .createHmac('sha256', sessionSecret)
    .update(`tessera.refresh.v2.${sessionId}.${generation}.${seed}`)
    .digest('base64url');
  return `${sessionId}.${generation}.${seed}.${mac}`;
}

describe('finding 2: a forged refresh token costs O(1) work, whatever the generation of its session', () => {
  let moduleRef: TestingModule;
  let clock: FakeClock;
  let sessions: SessionService;
  let store: SessionStore;

  beforeEach(async () => {
    ({ moduleRef, clock } = await compileSessionModule({ jwtSecret, sessionSecret }));
    sessions = moduleRef.get(SessionService);
    store = moduleRef.get<SessionStore>(SessionStore);
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    await moduleRef.close();
  });

  /** Logs in and refreshes `rotations` times for real; returns the first and the current token. */
  async function sessionAt(rotations: number) {
    const login = await sessions.create({ id: 'u1' });
    let current = login.refreshToken;
    for (let i = 0; i < rotations; i++) current = (await sessions.refresh(current)).refreshToken;
    expect((await store.findById(login.session.id))?.generation).toBe(rotations);
    return { sessionId: login.session.id, first: login.refreshToken, current };
  }

  /** Runs `action` and reports the HMACs it computed and the store methods it called. */
  async function measure<T>(action: () => Promise<T>): Promise<{ hmacs: number; storeCalls: string[]; outcome: T | string }> {
    const createHmac = jest.spyOn(crypto, 'createHmac');
    const storeCalls: string[] = [];
    const spies = STORE_METHODS.map((method) => {
      const original = (store[method] as (...args: unknown[]) => unknown).bind(store);
      const recorded = (...args: unknown[]) => {
        storeCalls.push(method);
        return original(...args);
      };
      return jest.spyOn(store, method).mockImplementation(recorded as never);
    });
    let outcome: T | string;
    try {
      outcome = await action();
    } catch (error) {
      outcome = error instanceof SessionUnauthorizedException ? error.code : String(error);
    }
    const hmacs = createHmac.mock.calls.length;
    createHmac.mockRestore();
    for (const spy of spies) spy.mockRestore();
    return { hmacs, storeCalls, outcome };
  }

  /** Refreshing with `token` is refused as invalid, with at most MAX_HMACS HMACs and no store call. */
  async function expectCheapRefusal(token: string): Promise<void> {
    const { outcome, hmacs, storeCalls } = await measure(() => sessions.refresh(token));
    expect({ token, outcome, hmacs: hmacs <= MAX_HMACS, storeCalls }).toEqual({
      token,
      outcome: 'invalid_refresh_token',
      hmacs: true,
      storeCalls: [],
    });
  }

  /** Forged tokens naming `sessionId`: one per grammar this code base has known. */
  function forgeries(sessionId: string, generation: number, random: () => number): string[] {
    return [
      `${sessionId}.${generation}.${randomB64(random, 43)}`, // the original `<sid>.<generation>.<secret>`
      `${sessionId}.${generation}.${randomB64(random, 43)}.${randomB64(random, 43)}`, // `<sid>.<generation>.<seed>.<mac>`
    ];
  }

  it(`refuses forged tokens for a session at generation ${HIGH_GENERATION} with at most ${MAX_HMACS} HMACs, no store call and no revocation`, async () => {
    const { sessionId } = await sessionAt(HIGH_GENERATION);
    const random = seeded(2);
    for (const generation of [0, 1, HIGH_GENERATION - 1, HIGH_GENERATION, HIGH_GENERATION + 1]) {
      for (const forged of forgeries(sessionId, generation, random)) {
        await expectCheapRefusal(forged);
      }
    }
    expect(await store.findById(sessionId)).toMatchObject({ generation: HIGH_GENERATION, revokedAt: null });
  }, 120_000);

  it('spends the same work on a forged token at generation 1 and at generation 10,000 (no chain walk)', async () => {
    const random = seeded(3);
    const work: number[][] = [];
    for (const rotations of [1, HIGH_GENERATION]) {
      const { sessionId } = await sessionAt(rotations);
      const costs: number[] = [];
      for (const forged of forgeries(sessionId, 0, random)) costs.push((await measure(() => sessions.refresh(forged))).hmacs);
      work.push(costs);
    }
    expect(work[1]).toEqual(work[0]);
    expect(Math.max(...work.flat())).toBeLessThanOrEqual(MAX_HMACS);
  }, 120_000);

  it('still spends exactly one store call (the rotation) on a genuine current token', async () => {
    const { current } = await sessionAt(3);
    const { hmacs, storeCalls, outcome } = await measure(() => sessions.refresh(current));
    expect(storeCalls).toEqual(['rotateRefresh']);
    expect(typeof outcome).toBe('object');
    expect(hmacs).toBeGreaterThan(0); // the counter sees the HMACs this code computes
  });

  it(`revokes the session for a genuine earlier token ${FAR_BEHIND} generations behind, with bounded work`, async () => {
    const { sessionId, first, current } = await sessionAt(FAR_BEHIND);
    clock.advance(GRACE_PASSED);
    const { hmacs, outcome } = await measure(() => sessions.refresh(first));
    expect(outcome).toBe('refresh_token_reused');
    // Verify, hash, successor and its hash, the rebuilt current token and its hash, the
    // event's fingerprint: a constant, where the chain walk made one per generation.
    expect(hmacs).toBeLessThanOrEqual(8);
    expect((await store.findById(sessionId))?.revokedReason).toBe('refresh_token_reused');
    expect(await failureCode(sessions.refresh(current))).toBe('invalid_refresh_token');
  }, 120_000);

  it('revokes for an earlier token even inside the grace window of the last rotation', async () => {
    const { sessionId, first } = await sessionAt(2);
    expect(await failureCode(sessions.refresh(first))).toBe('refresh_token_reused');
    expect((await store.findById(sessionId))?.revokedReason).toBe('refresh_token_reused');
  });

  it('keeps the grace window: the token the last rotation replaced gets the same successor', async () => {
    const login = await sessions.create({ id: 'u1' });
    let previous = login.refreshToken;
    for (let i = 0; i < 50; i++) previous = (await sessions.refresh(previous)).refreshToken;
    const next = await sessions.refresh(previous);
    const { storeCalls, outcome } = await measure(() => sessions.refresh(previous));
    expect(outcome).toMatchObject({ refreshToken: next.refreshToken });
    expect(storeCalls).toEqual(['rotateRefresh', 'findById']);
    expect((await store.findById(login.session.id))?.generation).toBe(51);
  });

  it("refuses, without revoking either, a genuine token of one session under another session's id", async () => {
    const victim = await sessionAt(4);
    const attacker = await sessionAt(2);
    clock.advance(GRACE_PASSED);
    for (const own of [attacker.first, attacker.current]) {
      const spliced = `${victim.sessionId}${own.slice(victim.sessionId.length)}`;
      const { outcome, storeCalls } = await measure(() => sessions.refresh(spliced));
      expect(outcome).toBe('invalid_refresh_token');
      expect(storeCalls).toEqual([]); // the mac covers the session id
    }
    expect(await store.findById(victim.sessionId)).toMatchObject({ generation: 4, revokedAt: null });
    expect(await store.findById(attacker.sessionId)).toMatchObject({ generation: 2, revokedAt: null });
  });

  describe('with the token grammar <sid>.<generation>.<seed>.<mac>', () => {
    it('mints the first token as the server does, with a 256-bit seed and a base64url HMAC-SHA256', async () => {
      const login = await sessions.create({ id: 'u1' });
      const [sid, generation, seed, mac, ...rest] = login.refreshToken.split('.');
      expect(rest).toEqual([]);
      expect([sid, generation]).toEqual([login.session.id, '0']);
      expect(Buffer.from(seed, 'base64url')).toHaveLength(32);
      expect(Buffer.from(mac, 'base64url')).toHaveLength(32);
      expect(login.refreshToken).toBe(mint(sid, 0, seed));
      const next = await sessions.refresh(login.refreshToken);
      expect(next.refreshToken).toBe(mint(sid, 1, seed));
      // The store holds neither the seed nor the token, only an HMAC of the token.
      const stored = JSON.stringify(await store.findById(sid));
      expect(stored).not.toContain(seed);
      expect(stored).not.toContain(mac);
    });

    it('never revokes for a tampered generation, seed or mac of a genuine earlier token', async () => {
      const { sessionId, first } = await sessionAt(6);
      clock.advance(GRACE_PASSED);
      const second = mint(sessionId, 1, first.split('.')[2]); // a genuine earlier token, untampered
      const [, , seed, mac] = second.split('.');
      const tampered = [
        `${sessionId}.0.${seed}.${mac}`, // the generation lowered
        `${sessionId}.2.${seed}.${mac}`, // the generation raised
        `${sessionId}.1.${mutateAt(seed, 5, seeded(4))}.${mac}`,
        `${sessionId}.1.${seed}.${mutateAt(mac, 42, seeded(5))}`,
      ];
      for (const token of tampered) {
        await expectCheapRefusal(token);
      }
      expect((await store.findById(sessionId))?.revokedAt).toBeNull();
      expect(await failureCode(sessions.refresh(second))).toBe('refresh_token_reused');
    });

    it('never revokes for a token with a valid mac but a seed that is not the session’s', async () => {
      // Only the key holder can mint such a token; the seed check still keeps it harmless,
      // e.g. should `sessionSecret` ever leak: a session id plus the key cannot revoke.
      const { sessionId } = await sessionAt(3);
      clock.advance(GRACE_PASSED);
      const random = seeded(6);
      for (const generation of [0, 1, 2]) {
        const foreign = mint(sessionId, generation, randomB64(random, 43));
        expect(await failureCode(sessions.refresh(foreign))).toBe('invalid_refresh_token');
      }
      expect(await store.findById(sessionId)).toMatchObject({ generation: 3, revokedAt: null });
    });

    it('refuses a token of the original 3-part grammar, even a correct-looking one (one re-login after the upgrade)', async () => {
      const login = await sessions.create({ id: 'u1' });
      const [sid, , seed] = login.refreshToken.split('.');
      expect(await failureCode(sessions.refresh(`${sid}.0.${seed}`))).toBe('invalid_refresh_token');
      expect(await sessions.sessionOfRefreshToken(`${sid}.0.${seed}`)).toBeUndefined();
      expect(await sessions.sessionOfRefreshToken(login.refreshToken)).toBe(sid);
    });

    it('property: random single-character changes of a genuine earlier token never revoke and stay cheap', async () => {
      const { sessionId, first } = await sessionAt(5);
      clock.advance(GRACE_PASSED);
      const genuine = mint(sessionId, 2, first.split('.')[2]);
      const random = seeded(12);
      const generationAt = sessionId.length + 1;
      for (let round = 0; round < 300; round++) {
        // Any character after the session id (a swapped id is the test above); a changed
        // generation stays a well-formed digit, so it names an earlier or later token.
        const index = generationAt + Math.floor(random() * (genuine.length - generationAt));
        if (genuine[index] === '.') continue;
        const candidate =
          index === generationAt
            ? `${genuine.slice(0, index)}${Math.floor(random() * 10)}${genuine.slice(index + 1)}`
            : mutateAt(genuine, index, random);
        if (candidate === genuine) continue;
        await expectCheapRefusal(candidate);
      }
      expect((await store.findById(sessionId))?.revokedAt).toBeNull();
      expect(await failureCode(sessions.refresh(genuine))).toBe('refresh_token_reused');
    });
  });
});
