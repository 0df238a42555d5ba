import type { TestingModule } from '@nestjs/testing';
import { SessionEvents } from './session-events.service';
import type { SessionEvent } from './session-events.service';
import { SessionService } from './session.service';
import { compileSessionModule } from '../../../test/support/session-module';

const LINUX_CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const WINDOWS_FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0';

// Issue 19, item 2: a refresh from another IP address or user agent than the session
// recorded emits `session.context_changed`; the app decides what to do about it.
describe('session.context_changed', () => {
  let moduleRef: TestingModule;
  let sessions: SessionService;
  let received: SessionEvent[];

  beforeEach(async () => {
    ({ moduleRef } = await compileSessionModule({
      jwtSecret: 'context-change-spec-jwt-secret-0123456789',
      sessionSecret: 'context-change-spec-session-secret-012345',
    }));
    sessions = moduleRef.get(SessionService);
    received = [];
    moduleRef.get(SessionEvents).subscribe((event) => void received.push(event));
  });

  afterEach(() => moduleRef.close());

  const changes = () => received.filter((event) => event.type === 'session.context_changed');

  it('is not emitted for a refresh from the recorded user agent and IP', async () => {
    const issued = await sessions.create({ id: 'user-1', roles: [] }, { userAgent: LINUX_CHROME, ip: '10.0.0.1' });
    const refreshed = await sessions.refresh(issued.refreshToken, { userAgent: LINUX_CHROME, ip: '10.0.0.1' });
    await sessions.refresh(refreshed.refreshToken, {});
    expect(received.filter((event) => event.type === 'session.refreshed')).toHaveLength(2);
    expect(changes()).toEqual([]);
  });

  it('is emitted, with both devices in words, when the user agent changes', async () => {
    const issued = await sessions.create({ id: 'user-1', roles: [] }, { userAgent: LINUX_CHROME, ip: '10.0.0.1' });
    await sessions.refresh(issued.refreshToken, { userAgent: WINDOWS_FIREFOX, ip: '10.0.0.1' });
    expect(changes()).toHaveLength(1);
    const [event] = changes();
    expect(event).toMatchObject({
      userId: 'user-1',
      sessionFingerprint: moduleRef.get(SessionEvents).fingerprint(issued.session.id),
      previousDevice: 'Chrome 156 on Linux (desktop)',
      device: 'Firefox 133 on Windows 10 (desktop)',
      ipChanged: false,
      userAgentChanged: true,
      userAgent: WINDOWS_FIREFOX,
      ip: '10.0.0.1',
    });
    expect(JSON.stringify(event)).not.toContain(issued.session.id);
    expect(JSON.stringify(event)).not.toContain(issued.refreshToken);
  });

  it('is emitted when only the IP address changes, and the recorded context stays that of the login', async () => {
    const issued = await sessions.create({ id: 'user-1', roles: [] }, { userAgent: LINUX_CHROME, ip: '10.0.0.1' });
    const refreshed = await sessions.refresh(issued.refreshToken, { userAgent: LINUX_CHROME, ip: '192.0.2.7' });
    expect(changes()).toHaveLength(1);
    expect(changes()[0]).toMatchObject({ ipChanged: true, userAgentChanged: false, ip: '192.0.2.7', device: 'Chrome 156 on Linux (desktop)' });
    expect(refreshed.session).toMatchObject({ userAgent: LINUX_CHROME, ip: '10.0.0.1' });
  });

  it('describes the new device by its client hints when sent', async () => {
    const issued = await sessions.create({ id: 'user-1', roles: [] }, { userAgent: LINUX_CHROME, ip: '10.0.0.1' });
    await sessions.refresh(issued.refreshToken, {
      userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
      ip: '10.0.0.1',
      clientHints: { brands: '"Google Chrome";v="156", "Chromium";v="156", "Not.A/Brand";v="99"', platform: '"Windows"', platformVersion: '"15.0.0"', mobile: '?0' },
    });
    expect(changes()[0].device).toBe('Chrome 156 on Windows 15 (desktop)');
  });
});
