import { SessionEvents } from '@tessera/session';
import type { SessionEvent, SessionView } from '@tessera/session';
import { Client } from 'pg';
import request from 'supertest';
import { AuditTrailService } from '../src/app/audit/audit-trail.service';
import { REAL_BACKENDS, startDemoApp, uniqueEmail } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const LINUX_CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const IPHONE_SAFARI =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1';

// Issue 19, item 2: devices in words in the sessions list, and `session.context_changed`
// when a refresh comes from another user agent (or IP address) than the session recorded.
describe(`demo-api: session devices and context changes (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;
  let db: Client;
  const received: SessionEvent[] = [];

  beforeAll(async () => {
    demo = await startDemoApp({ CLEANUP_CRON: 'off' });
    demo.app.get(SessionEvents).subscribe((event) => void received.push(event));
    db = new Client({ connectionString: process.env.TESSERA_TEST_DATABASE_URL });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await demo?.close();
  });

  async function login(userAgent: string): Promise<{ accessToken: string; refreshToken: string; session: { id: string } }> {
    const email = uniqueEmail('devices');
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
    const response = await request(demo.url)
      .post('/auth/login')
      .set('X-Auth-Mode', 'bearer')
      .set('User-Agent', userAgent)
      .send({ email, password: PASSWORD })
      .expect(200);
    return response.body;
  }

  const list = async (accessToken: string, headers: Record<string, string> = {}): Promise<Array<SessionView & { contextChangedAt: string | null }>> =>
    (await request(demo.url).get('/auth/sessions').set('Authorization', `Bearer ${accessToken}`).set(headers).expect(200)).body;

  it('lists each session with its device in words, client hints winning for the current one', async () => {
    const session = await login(LINUX_CHROME);
    const [item] = await list(session.accessToken, { 'User-Agent': LINUX_CHROME });
    expect(item.device).toEqual({ browser: 'Chrome', os: 'Linux', type: 'desktop', label: 'Chrome 156 on Linux (desktop)' });
    const [hinted] = await list(session.accessToken, {
      'Sec-CH-UA': '"Not)A;Brand";v="8", "Chromium";v="156", "Google Chrome";v="156"',
      'Sec-CH-UA-Mobile': '?0',
      'Sec-CH-UA-Platform': '"Windows"',
      'Sec-CH-UA-Platform-Version': '"15.0.0"',
    });
    expect(hinted.device).toEqual({ browser: 'Chrome', os: 'Windows', type: 'desktop', label: 'Chrome 156 on Windows 15 (desktop)' });
    // Garbage hints are ignored, never a 500.
    const [garbled] = await list(session.accessToken, { 'Sec-CH-UA': '"unterminated', 'Sec-CH-UA-Platform': 'Windows', 'Sec-CH-UA-Mobile': 'maybe' });
    expect(garbled.device.label).toBe('Chrome 156 on Linux (desktop)');
  });

  it('emits session.context_changed for a refresh with another User-Agent: in auth_events, not for the same one', async () => {
    const session = await login(LINUX_CHROME);
    const same = await request(demo.url)
      .post('/auth/refresh')
      .set('X-Auth-Mode', 'bearer')
      .set('User-Agent', LINUX_CHROME)
      .send({ refreshToken: session.refreshToken })
      .expect(200);
    const fingerprint = demo.app.get(SessionEvents).fingerprint(session.session.id);
    const changes = () => received.filter((event) => event.type === 'session.context_changed' && event.sessionFingerprint === fingerprint);
    expect(changes()).toEqual([]);

    await request(demo.url)
      .post('/auth/refresh')
      .set('X-Auth-Mode', 'bearer')
      .set('User-Agent', IPHONE_SAFARI)
      .send({ refreshToken: same.body.refreshToken })
      .expect(200);
    expect(changes()).toHaveLength(1);
    expect(changes()[0]).toMatchObject({
      previousDevice: 'Chrome 156 on Linux (desktop)',
      device: 'Safari 17 on iOS 17.4 (phone)',
      ipChanged: false,
      userAgentChanged: true,
    });

    await demo.app.get(AuditTrailService).flush();
    const rows = (
      await db.query(`SELECT type, outcome, reason, user_agent FROM auth_events WHERE session_fingerprint = $1 AND type = 'session.context_changed'`, [
        fingerprint,
      ])
    ).rows;
    expect(rows).toEqual([{ type: 'session.context_changed', outcome: 'success', reason: 'user_agent', user_agent: IPHONE_SAFARI }]);
  });

  it('shows contextChangedAt in the list (REST, before and after the audit row is written), null for an unchanged session', async () => {
    const session = await login(LINUX_CHROME);
    const [before] = await list(session.accessToken);
    expect(before.contextChangedAt).toBeNull();
    demo.clock.advance(1_000);
    const changedAt = demo.clock.now().toISOString();
    const refreshed = await request(demo.url)
      .post('/auth/refresh')
      .set('X-Auth-Mode', 'bearer')
      .set('User-Agent', IPHONE_SAFARI)
      .send({ refreshToken: session.refreshToken })
      .expect(200);
    // Still in the audit buffer, then in auth_events: the same answer.
    const [pending] = await list(refreshed.body.accessToken);
    expect(pending).toMatchObject({ contextChangedAt: changedAt, userAgent: LINUX_CHROME, device: { label: 'Chrome 156 on Linux (desktop)' } });
    await demo.app.get(AuditTrailService).flush();
    const [written] = await list(refreshed.body.accessToken);
    expect(written.contextChangedAt).toBe(changedAt);
  });
});
