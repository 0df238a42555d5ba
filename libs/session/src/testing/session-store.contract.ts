/// <reference types="jest" />
import type { SessionRecord, SessionStore } from '../lib/interfaces/session-store.interface';
import { randomTestId as id, sessionRecordFixture } from './session-record.factory';
import { activityContract } from './session-store-activity.contract';
import { grantsContract } from './session-store-grants.contract';
import { maintenanceContract } from './session-store-maintenance.contract';
import { describeReissueContract } from './session-store-reissue.contract';
import { rotationContract } from './session-store-rotation.contract';

export { sessionRecordFixture } from './session-record.factory';

/** How the contract suite gets a store to test. */
export interface SessionStoreContractHooks {
  /** Returns the store under test; called in `beforeAll`. */
  setup(): Promise<SessionStore> | SessionStore;
  /** Releases what `setup` opened; called in `afterAll`. */
  teardown?(): Promise<void> | void;
  /**
   * For a store whose instances share a backend: another instance on the same backend
   * (another app instance), for the tests of the change feed across instances; called in
   * `beforeAll` after `setup`, released by `teardown`. Omit it for a store whose instances
   * share nothing (in-memory): those tests are skipped.
   */
  peer?(): Promise<SessionStore> | SessionStore;
}

/**
 * The behaviour every `SessionStore` must have. Run it against each real backend:
 * `describeSessionStoreContract('postgres', { setup: () => storeFromRealDatabase() })`.
 * Tests use fresh random ids, so they need no empty database.
 */
export function describeSessionStoreContract(name: string, hooks: SessionStoreContractHooks): void {
  describe(`SessionStore contract: ${name}`, () => {
    let store: SessionStore;
    let peer: SessionStore | undefined;

    beforeAll(async () => {
      store = await hooks.setup();
      peer = await hooks.peer?.();
    });

    afterAll(async () => {
      await hooks.teardown?.();
    });

    // Creating and finding; the other operations' parts follow.
    it('stores a session and finds it by id with every field intact', async () => {
      const record = sessionRecordFixture({ roles: ['user', 'admin'], userAgent: 'Mozilla/5.0 ✓', ip: '::1' });
      await store.create(record);
      expect(await store.findById(record.id)).toEqual(record);
    });

    it('finds many sessions at once, each caller with its own copy', async () => {
      const records = Array.from({ length: 20 }, (_, i) => sessionRecordFixture({ roles: [`role-${i}`] }));
      await Promise.all(records.map((record) => store.create(record)));
      const unknown = id();
      const [found, again, missing] = await Promise.all([
        Promise.all(records.map((record) => store.findById(record.id))),
        Promise.all(records.map((record) => store.findById(record.id))),
        store.findById(unknown),
      ]);
      expect(found).toEqual(records);
      expect(again).toEqual(records);
      expect(missing).toBeNull();
      // Two callers asking for one session at once must not share an object.
      (found[0] as SessionRecord).roles.push('changed by the first caller');
      expect(again[0]?.roles).toEqual(['role-0']);
      expect(found[0]).not.toBe(again[0]);
    });

    it('returns null for an unknown id', async () => {
      expect(await store.findById(id())).toBeNull();
    });

    it('refuses a second session with the same id', async () => {
      const record = sessionRecordFixture();
      await store.create(record);
      await expect(store.create({ ...record, userId: 'someone-else' })).rejects.toThrow();
      expect((await store.findById(record.id))?.userId).toBe(record.userId);
    });

    rotationContract(() => store);
    activityContract(() => store);
    maintenanceContract(() => store);
    describeReissueContract(() => store);
    grantsContract(() => store, hooks.peer ? () => peer as SessionStore : undefined);
  });
}
