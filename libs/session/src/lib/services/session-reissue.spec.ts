import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import { FakeClock } from '../../testing';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import type { SessionRecord } from '../interfaces/session-store.interface';
import { SessionModule } from '../session.module';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { RevocationCache } from './revocation-cache.service';
import { SessionEvents } from './session-events.service';
import type { SessionEvent } from './session-events.service';
import { SessionService } from './session.service';

const jwtSecret = 'reissue-spec-jwt-secret-0123456789abcdef';
const sessionSecret = 'reissue-spec-session-secret-0123456789ab';

/**
 * An in-memory store on which another device of the user logs out of everything at the
 * worst moment: once armed, right after `SessionService.reissue` has read the session as
 * live and before it writes the successor. (Before the fix, reissue wrote the successor
 * with `create`, then revoked the old id and ignored that it was already revoked.)
 */
class RevokedMidReissueStore extends InMemorySessionStore {
  /** Set by a test; the interference happens once. */
  armed = false;
  interfered = false;
  private userToRevoke: string | undefined;

  override async findById(id: string): Promise<SessionRecord | null> {
    const found = await super.findById(id);
    if (found && this.armed) this.userToRevoke = found.userId;
    return found;
  }

  override async create(session: SessionRecord): Promise<void> {
    await this.interfere();
    return super.create(session);
  }

  override async reissue(...args: Parameters<InMemorySessionStore['reissue']>): Promise<boolean> {
    await this.interfere();
    return super.reissue(...args);
  }

  private async interfere(): Promise<void> {
    const userId = this.userToRevoke;
    if (userId === undefined) return;
    this.userToRevoke = undefined;
    this.armed = false;
    this.interfered = true;
    await this.revokeByUser(userId, 'password_changed', new Date());
  }
}

describe('SessionService.reissue (in-memory store)', () => {
  let moduleRef: TestingModule;
  let store: RevokedMidReissueStore;
  let sessions: SessionService;
  let revocations: RevocationCache;
  let events: SessionEvent[];

  beforeEach(async () => {
    store = new RevokedMidReissueStore();
    moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({ jwtSecret, sessionSecret, store, clock: new FakeClock(new Date('2030-01-01T00:00:00Z')) }),
      ],
    }).compile();
    sessions = moduleRef.get(SessionService);
    revocations = moduleRef.get(RevocationCache);
    events = [];
    moduleRef.get(SessionEvents).subscribe((event) => {
      events.push(event);
    });
  });
  afterEach(() => moduleRef.close());

  it('finding 6: a session revoked while it is being reissued gets no successor: session_revoked, nothing created', async () => {
    const login = await sessions.create({ id: 'u1', roles: ['user'] });
    events.length = 0;
    store.armed = true;

    const failure = await sessions.reissue(login.session.id).then(
      () => undefined,
      (error: unknown) => error,
    );

    expect(store.interfered).toBe(true);
    expect(failure).toBeInstanceOf(SessionUnauthorizedException);
    expect((failure as SessionUnauthorizedException).code).toBe('session_revoked');
    expect(await sessions.listForUser('u1')).toEqual([]);
    expect((await store.findById(login.session.id))?.revokedReason).toBe('password_changed');
    expect(events.map((event) => event.type)).not.toContain('session.reissued');
  });

  it('revokes the old id with reason reissued, marks it in the revocation cache and emits session.reissued', async () => {
    const login = await sessions.create({ id: 'u1' });
    const reissued = await sessions.reissue(login.session.id);
    expect((await store.findById(login.session.id))?.revokedReason).toBe('reissued');
    expect(revocations.has(login.session.id)).toBe(true);
    expect((await sessions.listForUser('u1')).map((session) => session.id)).toEqual([reissued.session.id]);
    expect(events.filter((event) => event.type === 'session.reissued')).toHaveLength(1);
  });
});
