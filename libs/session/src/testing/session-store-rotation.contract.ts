/// <reference types="jest" />
import type { SessionRecord, SessionStore } from '../lib/interfaces/session-store.interface';
import { hoursAfter as at, randomTestId as id, revokedAndExpired, sessionRecordFixture } from './session-record.factory';

/**
 * The `rotateRefresh` part of the contract: a compare-and-swap per session, capped at the
 * absolute expiry, one winner per generation however many race. Called by
 * `describeSessionStoreContract` inside its describe block.
 */
export function rotationContract(storeUnderTest: () => SessionStore): void {
  it('rotates the refresh hash when the expected hash matches', async () => {
    const store = storeUnderTest();
    const record = sessionRecordFixture();
    await store.create(record);
    const now = at(record, 1);
    const rotated = await store.rotateRefresh(record.id, {
      expectedRefreshHash: record.refreshHash,
      refreshHash: 'next-hash',
      now,
      expiresAt: at(record, 25),
    });
    expect(rotated).toEqual({
      ...record,
      refreshHash: 'next-hash',
      previousRefreshHash: record.refreshHash,
      generation: 1,
      rotatedAt: now,
      lastSeenAt: now,
      expiresAt: at(record, 25),
    });
    expect(await store.findById(record.id)).toEqual(rotated);
  });

  it('caps the new expiry at the absolute expiry', async () => {
    const store = storeUnderTest();
    const record = sessionRecordFixture();
    await store.create(record);
    const rotated = await store.rotateRefresh(record.id, {
      expectedRefreshHash: record.refreshHash,
      refreshHash: 'next',
      now: at(record, 1),
      expiresAt: at(record, 1000),
    });
    expect(rotated?.expiresAt).toEqual(record.absoluteExpiresAt);
  });

  it('changes nothing when the expected hash does not match', async () => {
    const store = storeUnderTest();
    const record = sessionRecordFixture();
    await store.create(record);
    const result = await store.rotateRefresh(record.id, {
      expectedRefreshHash: 'stale',
      refreshHash: 'next',
      now: at(record, 1),
      expiresAt: at(record, 25),
    });
    expect(result).toBeNull();
    expect(await store.findById(record.id)).toEqual(record);
  });

  it('does not rotate a revoked, an expired or an unknown session', async () => {
    const store = storeUnderTest();
    const { revoked, expired } = await revokedAndExpired(store);
    const rotation = (record: SessionRecord, hours: number) => ({
      expectedRefreshHash: record.refreshHash,
      refreshHash: 'next',
      now: at(record, hours),
      expiresAt: at(record, hours + 24),
    });
    expect(await store.rotateRefresh(revoked.id, rotation(revoked, 2))).toBeNull();
    expect(await store.rotateRefresh(expired.id, rotation(expired, 24))).toBeNull();
    expect(await store.rotateRefresh(id(), rotation(expired, 1))).toBeNull();
    expect((await store.findById(expired.id))?.refreshHash).toBe(expired.refreshHash);
  });

  it('lets exactly one of many concurrent rotations of one generation win', async () => {
    const store = storeUnderTest();
    const record = sessionRecordFixture();
    await store.create(record);
    let expected = record.refreshHash;
    for (let generation = 1; generation <= 3; generation++) {
      const attempts = Array.from({ length: 25 }, (_, i) =>
        store.rotateRefresh(record.id, {
          expectedRefreshHash: expected,
          refreshHash: `g${generation}-attempt-${i}`,
          now: at(record, generation),
          expiresAt: at(record, generation + 24),
        }),
      );
      const winners = (await Promise.all(attempts)).filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect(winners[0]?.generation).toBe(generation);
      const stored = await store.findById(record.id);
      expect(stored?.refreshHash).toBe(winners[0]?.refreshHash);
      expected = (winners[0] as SessionRecord).refreshHash;
    }
  });

  it('rotates many sessions at once, each on its own terms', async () => {
    const store = storeUnderTest();
    // Issued together, as concurrent refreshes of many users are: a store may run them
    // as one operation, but each session's outcome must be the one it would get alone.
    const live = Array.from({ length: 30 }, () => sessionRecordFixture());
    const stale = sessionRecordFixture();
    const revoked = sessionRecordFixture();
    const expired = sessionRecordFixture({ expiresAt: new Date('2030-01-01T00:30:00.000Z') });
    const twice = sessionRecordFixture();
    const all = [...live, stale, revoked, expired, twice];
    await Promise.all(all.map((record) => store.create(record)));
    await store.revoke(revoked.id, 'logout', at(revoked, 0.5));
    const rotate = (record: SessionRecord, expected: string, next: string) =>
      store.rotateRefresh(record.id, {
        expectedRefreshHash: expected,
        refreshHash: next,
        now: at(record, 1),
        expiresAt: at(record, 25),
      });

    const results = await Promise.all([
      ...live.map((record, i) => rotate(record, record.refreshHash, `live-${i}`)),
      rotate(stale, 'not-the-current-hash', 'stale-next'),
      rotate(revoked, revoked.refreshHash, 'revoked-next'),
      rotate(expired, expired.refreshHash, 'expired-next'),
      // Two rotations of one session from the same token: exactly one may win.
      rotate(twice, twice.refreshHash, 'twice-a'),
      rotate(twice, twice.refreshHash, 'twice-b'),
    ]);

    const [staleResult, revokedResult, expiredResult, a, b] = results.slice(live.length);
    results.slice(0, live.length).forEach((rotated, i) => {
      expect(rotated).toEqual({
        ...live[i],
        refreshHash: `live-${i}`,
        previousRefreshHash: live[i].refreshHash,
        generation: 1,
        rotatedAt: at(live[i], 1),
        lastSeenAt: at(live[i], 1),
        expiresAt: at(live[i], 25),
      });
    });
    expect([staleResult, revokedResult, expiredResult]).toEqual([null, null, null]);
    const winners = [a, b].filter((result) => result !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]).toMatchObject({ previousRefreshHash: twice.refreshHash, generation: 1 });
    const stored = await Promise.all(all.map((record) => store.findById(record.id)));
    expect(stored.slice(0, live.length).map((record) => record?.refreshHash)).toEqual(live.map((_, i) => `live-${i}`));
    expect(stored.slice(live.length).map((record) => record?.refreshHash)).toEqual([
      stale.refreshHash,
      revoked.refreshHash,
      expired.refreshHash,
      winners[0]?.refreshHash,
    ]);
  });
}
