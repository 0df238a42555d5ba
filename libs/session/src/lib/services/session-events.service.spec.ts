import { Test } from '@nestjs/testing';
import { FakeClock } from '../../testing';
import { SessionModule } from '../session.module';
import { MAX_IP, MAX_USER_AGENT } from '../utils/context.util';
import { SessionEvents } from './session-events.service';
import type { SessionEvent } from './session-events.service';

describe('SessionEvents', () => {
  async function events(): Promise<{ events: SessionEvents; received: SessionEvent[] }> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SessionModule.forRoot({
          jwtSecret: 'events-spec-jwt-secret-0123456789-abcdefgh',
          sessionSecret: 'events-spec-session-secret-0123456789-abcd',
          clock: new FakeClock(new Date('2030-01-01T00:00:00.000Z')),
        }),
      ],
    }).compile();
    const service = moduleRef.get(SessionEvents);
    const received: SessionEvent[] = [];
    service.subscribe((event) => void received.push(event));
    return { events: service, received };
  }

  // Issue 12, finding 8: `csrf.refused` and the app's `login.failed` carried the raw user
  // agent while session events cut it; every event now goes through one bound.
  it('finding 8: cuts the user agent and IP of every event, whoever emits it, to the bounds of a stored session', async () => {
    const { events: service, received } = await events();
    const at = new Date();
    for (const type of ['login.failed', 'csrf.refused', 'cookie.conflict', 'session.created'] as const) {
      service.emit({ type, at, userId: null, sessionFingerprint: null, ip: '1'.repeat(200), userAgent: 'A'.repeat(20_000) });
    }
    expect(received).toHaveLength(4);
    for (const event of received) {
      expect(event.userAgent).toBe('A'.repeat(MAX_USER_AGENT));
      expect(event.ip).toBe('1'.repeat(MAX_IP));
    }
  });

  it('hands events within the bounds over unchanged', async () => {
    const { events: service, received } = await events();
    const event: SessionEvent = { type: 'login.failed', at: new Date(), userId: null, sessionFingerprint: null, reason: 'x', ip: '::1', userAgent: 'curl/8' };
    service.emit(event);
    expect(received).toEqual([event]);
    const bare: SessionEvent = { type: 'login.failed', at: new Date(), userId: null, sessionFingerprint: null };
    service.emit(bare);
    expect(received[1]).toBe(bare);
  });

  it('drops the client hints that a spread sessionContextOf(request) brings in', async () => {
    const { events: service, received } = await events();
    const context = { ip: '::1', userAgent: 'curl/8', clientHints: { brands: '"Chromium";v="156"' } };
    service.emit({ type: 'login.failed', at: new Date(), userId: null, sessionFingerprint: null, ...context });
    expect(received[0]).not.toHaveProperty('clientHints');
    expect(received[0]).toMatchObject({ ip: '::1', userAgent: 'curl/8' });
  });
});
