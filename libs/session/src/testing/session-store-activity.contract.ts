/// <reference types="jest" />
import type { SessionStore } from '../lib/interfaces/session-store.interface';
import { HOUR, hoursAfter as at, randomTestId as id, revokedAndExpired, sessionRecordFixture } from './session-record.factory';

/**
 * The `touch`, `markAuthenticated`, `revoke`, `listByUser` and `listRevokedSince` part of the contract. Called
 * by `describeSessionStoreContract` inside its describe block.
 */
export function activityContract(storeUnderTest: () => SessionStore): void {
  it('records activity on a live session, never moving times backwards, capped at the absolute expiry', async () => {
    const store = storeUnderTest();
    const record = sessionRecordFixture();
    await store.create(record);
    expect(await store.touch(record.id, at(record, 2), at(record, 30))).toBe(true);
    let stored = await store.findById(record.id);
    expect(stored?.lastSeenAt).toEqual(at(record, 2));
    expect(stored?.expiresAt).toEqual(at(record, 30));
    // An older, late-arriving touch changes nothing.
    expect(await store.touch(record.id, at(record, 1), at(record, 25))).toBe(true);
    stored = await store.findById(record.id);
    expect(stored?.lastSeenAt).toEqual(at(record, 2));
    expect(stored?.expiresAt).toEqual(at(record, 30));
    expect(await store.touch(record.id, at(record, 3), at(record, 1000))).toBe(true);
    expect((await store.findById(record.id))?.expiresAt).toEqual(record.absoluteExpiresAt);
    // Everything else is untouched.
    expect({ ...(await store.findById(record.id)), lastSeenAt: null, expiresAt: null }).toEqual({
      ...record,
      lastSeenAt: null,
      expiresAt: null,
    });
  });

  it('does not touch a revoked, an expired or an unknown session', async () => {
    const store = storeUnderTest();
    const { revoked, expired } = await revokedAndExpired(store);
    expect(await store.touch(revoked.id, at(revoked, 2), at(revoked, 30))).toBe(false);
    expect(await store.touch(expired.id, at(expired, 24), at(expired, 48))).toBe(false);
    expect(await store.touch(id(), at(expired, 1), at(expired, 2))).toBe(false);
    expect((await store.findById(expired.id))?.expiresAt).toEqual(expired.expiresAt);
    expect((await store.findById(revoked.id))?.lastSeenAt).toEqual(revoked.lastSeenAt);
  });

  it('marks a live session authenticated again, never moving authenticatedAt backwards, changing nothing else', async () => {
    const store = storeUnderTest();
    const record = sessionRecordFixture();
    await store.create(record);
    const marked = await store.markAuthenticated(record.id, at(record, 2));
    expect(marked).toEqual({ ...record, authenticatedAt: at(record, 2) });
    expect(await store.findById(record.id)).toEqual(marked);
    // An older, late-arriving mark changes nothing, and still answers the record.
    expect((await store.markAuthenticated(record.id, at(record, 1)))?.authenticatedAt).toEqual(at(record, 2));
    expect((await store.findById(record.id))?.authenticatedAt).toEqual(at(record, 2));
  });

  it('does not mark a revoked, an expired or an unknown session authenticated', async () => {
    const store = storeUnderTest();
    const { revoked, expired } = await revokedAndExpired(store);
    expect(await store.markAuthenticated(revoked.id, at(revoked, 2))).toBeNull();
    expect(await store.markAuthenticated(expired.id, at(expired, 24))).toBeNull();
    expect(await store.markAuthenticated(id(), at(expired, 1))).toBeNull();
    expect((await store.findById(revoked.id))?.authenticatedAt).toEqual(revoked.authenticatedAt);
    expect((await store.findById(expired.id))?.authenticatedAt).toEqual(expired.authenticatedAt);
  });

  it('keeps authenticatedAt through a touch and a rotation', async () => {
    const store = storeUnderTest();
    const record = sessionRecordFixture({ authenticatedAt: new Date(sessionRecordFixture().createdAt.getTime() + HOUR / 2) });
    await store.create(record);
    expect((await store.findById(record.id))?.authenticatedAt).toEqual(record.authenticatedAt);
    await store.touch(record.id, at(record, 2), at(record, 30));
    const rotated = await store.rotateRefresh(record.id, {
      expectedRefreshHash: record.refreshHash,
      refreshHash: id(),
      now: at(record, 3),
      expiresAt: at(record, 30),
    });
    expect(rotated?.authenticatedAt).toEqual(record.authenticatedAt);
    expect((await store.findById(record.id))?.authenticatedAt).toEqual(record.authenticatedAt);
  });

  it('revokes a session once, recording when and why', async () => {
    const store = storeUnderTest();
    const record = sessionRecordFixture();
    await store.create(record);
    expect(await store.revoke(record.id, 'logout', at(record, 2))).toBe(true);
    expect(await store.revoke(record.id, 'admin', at(record, 3))).toBe(false);
    expect(await store.revoke(id(), 'logout', at(record, 3))).toBe(false);
    const stored = await store.findById(record.id);
    expect(stored?.revokedAt).toEqual(at(record, 2));
    expect(stored?.revokedReason).toBe('logout');
  });

  it("lists a user's live sessions, oldest first, and no one else's", async () => {
    const store = storeUnderTest();
    const userId = `user-${id()}`;
    const base = sessionRecordFixture({ userId });
    const older = { ...sessionRecordFixture({ userId }), createdAt: new Date(base.createdAt.getTime() - HOUR) };
    const revoked = sessionRecordFixture({ userId });
    const expired = sessionRecordFixture({ userId, expiresAt: at(base, 1) });
    const stranger = sessionRecordFixture();
    for (const record of [base, older, revoked, expired, stranger]) await store.create(record);
    await store.revoke(revoked.id, 'logout', at(base, 0.5));
    const listed = await store.listByUser(userId, at(base, 2));
    expect(listed.map((record) => record.id)).toEqual([older.id, base.id]);
    expect(await store.listByUser(`user-${id()}`, at(base, 2))).toEqual([]);
  });

  it('lists the sessions revoked since a time', async () => {
    const store = storeUnderTest();
    const before = sessionRecordFixture();
    const after = sessionRecordFixture();
    const live = sessionRecordFixture();
    for (const record of [before, after, live]) await store.create(record);
    await store.revoke(before.id, 'logout', at(before, 1));
    await store.revoke(after.id, 'logout', at(after, 3));
    const listed = await store.listRevokedSince(at(before, 2));
    const ours = listed.filter((entry) => [before.id, after.id, live.id].includes(entry.sessionId));
    expect(ours).toEqual([{ sessionId: after.id, revokedAt: at(after, 3) }]);
  });
}
