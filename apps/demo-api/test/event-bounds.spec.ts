import { SessionEvents } from '@tessera/session';
import type { SessionEvent } from '@tessera/session';
import { Client } from 'pg';
import request from 'supertest';
import { AuditTrailService } from '../src/app/audit/audit-trail.service';
import { startDemoApp, uniqueEmail } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const LONG_USER_AGENT = `Mozilla/5.0 ${'x'.repeat(8_000)}`;

// Issue 12, finding 8: `csrf.refused` and `login.failed` carried the raw user agent (a
// client-chosen header up to the server's header limit) into the log and `auth_events`,
// while session events cut it to 512 characters. One bound now applies to every event.
describe('finding 8: every audit event carries a bounded user agent', () => {
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
    await db.end();
    await demo.close();
  });

  it('cuts the user agent of login.failed and csrf.refused, in the event and in auth_events', async () => {
    const email = uniqueEmail('bounds');
    await request(demo.url).post('/auth/register').set('X-Auth-Mode', 'bearer').send({ email, password: PASSWORD }).expect(201);
    await request(demo.url)
      .post('/auth/login')
      .set('X-Auth-Mode', 'bearer')
      .set('User-Agent', LONG_USER_AGENT)
      .send({ email, password: 'wrong password 123' })
      .expect(401);
    await request(demo.url)
      .post('/auth/login')
      .set('User-Agent', LONG_USER_AGENT)
      .set('Origin', 'http://evil.example')
      .send({ email, password: PASSWORD })
      .expect(403);

    const types = ['login.failed', 'csrf.refused'];
    const events = received.filter((event) => types.includes(event.type) && event.userAgent?.startsWith('Mozilla/5.0 x'));
    expect(events.map((event) => event.type).sort()).toEqual([...types].sort());
    for (const event of events) expect(event.userAgent).toBe(LONG_USER_AGENT.slice(0, 512));

    await demo.app.get(AuditTrailService).flush();
    const rows = (
      await db.query(`SELECT type, length(user_agent) AS length FROM auth_events WHERE user_agent LIKE 'Mozilla/5.0 x%' AND type = ANY($1)`, [
        types,
      ])
    ).rows as Array<{ type: string; length: number }>;
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows) expect(row.length).toBe(512);
  });
});
