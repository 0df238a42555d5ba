import { io } from 'socket.io-client';
import request from 'supertest';
import { PAGE_ORIGIN } from './support/cookie-client';
import { REAL_BACKENDS, bearerLogin, bearerRefresh, bearerSignup, startDemoApp } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';

/** One sample of a Prometheus text exposition: its name, labels and value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a Prometheus sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const matching = samples.filter(
    (sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
  if (matching.length > 1) throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value ?? 0;
}

/**
 * `GET /metrics` (METRICS=on): the library's OpenTelemetry metrics through the official
 * Prometheus exporter, read after driving each flow, with exact counts (each app has its own
 * meter provider, so only its own requests count).
 */
describe(`Prometheus metrics at GET /metrics (${REAL_BACKENDS})`, () => {
  let demo: DemoApp;

  beforeAll(async () => {
    demo = await startDemoApp({ METRICS: 'on', ALLOWED_ORIGINS: PAGE_ORIGIN, LOGIN_RATE_LIMIT: '50' });
  });

  afterAll(async () => {
    await demo?.close();
  });

  const scrape = async (): Promise<Sample[]> => {
    const response = await request(demo.url).get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(response.text);
  };

  it('counts logins, refreshes by outcome, reuse detections, revocations by reason, CSRF refusals by check and auth failures by code', async () => {
    // Logins: two sessions, one wrong password.
    const alice = await bearerSignup(demo.url, 'metrics-alice', PASSWORD);
    const bob = await bearerSignup(demo.url, 'metrics-bob', PASSWORD);
    await bearerLogin(demo.url, alice.email, 'not the password').expect(401);

    // Refreshes: one success, then the replaced token after the grace window (reuse: revokes
    // alice's session), one forged token.
    await bearerRefresh(demo.url, alice.refreshToken).expect(200);
    demo.clock.advance(11_000);
    expect((await bearerRefresh(demo.url, alice.refreshToken).expect(401)).body.code).toBe('refresh_token_reused');
    expect((await bearerRefresh(demo.url, 'forged.refresh.token').expect(401)).body.code).toBe('invalid_refresh_token');

    // Authentication failures: no token, a forged one, alice's revoked session (cached mode).
    await request(demo.url).get('/api/me').expect(401);
    await request(demo.url).get('/api/me').set('Authorization', 'Bearer not-a-jwt').expect(401);
    expect((await request(demo.url).get('/api/me').set('Authorization', `Bearer ${alice.accessToken}`).expect(401)).body.code).toBe(
      'session_revoked',
    );
    await request(demo.url).get('/api/me').set('Authorization', `Bearer ${bob.accessToken}`).expect(200);

    // A logout (revocation reason `logout`).
    await request(demo.url).post('/auth/logout').set('Authorization', `Bearer ${bob.accessToken}`).expect(204);

    // CSRF: a cookie-mode login with no token from the page's origin, and one from another origin.
    await request(demo.url).post('/auth/login').set('Origin', PAGE_ORIGIN).send({ email: bob.email, password: PASSWORD }).expect(403);
    await request(demo.url)
      .post('/auth/login')
      .set('Origin', 'http://evil.example')
      .send({ email: bob.email, password: PASSWORD })
      .expect(403);

    const samples = await scrape();
    const counters: Array<[string, Record<string, string>, number]> = [
      ['tessera_session_logins_total', { tessera_outcome: 'success' }, 2],
      ['tessera_session_logins_total', { tessera_outcome: 'failure' }, 1],
      ['tessera_session_refreshes_total', { tessera_outcome: 'success' }, 1],
      ['tessera_session_refreshes_total', { tessera_outcome: 'refresh_token_reused' }, 1],
      ['tessera_session_refreshes_total', { tessera_outcome: 'invalid_refresh_token' }, 1],
      ['tessera_session_reuse_detections_total', {}, 1],
      ['tessera_session_revocations_total', { tessera_revocation_reason: 'refresh_token_reused' }, 1],
      ['tessera_session_revocations_total', { tessera_revocation_reason: 'logout' }, 1],
      ['tessera_csrf_refusals_total', { tessera_csrf_check: 'token_missing' }, 1],
      ['tessera_csrf_refusals_total', { tessera_csrf_check: 'origin_not_allowed' }, 1],
      ['tessera_auth_failures_total', { tessera_auth_code: 'token_missing' }, 1],
      ['tessera_auth_failures_total', { tessera_auth_code: 'token_invalid' }, 1],
      ['tessera_auth_failures_total', { tessera_auth_code: 'session_revoked' }, 1],
    ];
    for (const [name, labels, expected] of counters) {
      expect({ name, labels, value: valueOf(samples, name, labels) }).toEqual({ name, labels, value: expected });
    }

    // Histograms: one refresh duration per outcome, and store calls by operation.
    expect(valueOf(samples, 'tessera_session_refresh_duration_count', { tessera_outcome: 'success' })).toBe(1);
    expect(valueOf(samples, 'tessera_session_refresh_duration_count', { tessera_outcome: 'refresh_token_reused' })).toBe(1);
    expect(valueOf(samples, 'tessera_store_operation_duration_count', { tessera_store_operation: 'create' })).toBe(2);
    expect(valueOf(samples, 'tessera_store_operation_duration_count', { tessera_store_operation: 'rotateRefresh' })).toBe(2);
    expect(valueOf(samples, 'tessera_store_operation_duration_bucket', { tessera_store_operation: 'create', le: '+Inf' })).toBe(2);

    // Gauges: the revocation cache holds the two revoked sessions, the feed is connected, and
    // live sessions were sampled at boot.
    expect(valueOf(samples, 'tessera_revocation_cache_size')).toBeGreaterThanOrEqual(2);
    expect(valueOf(samples, 'tessera_revocation_feed_connected')).toBe(1);
    expect(samples.some((sample) => sample.name === 'tessera_sessions_live')).toBe(true);
  });

  it('measures the propagation lag of revocations heard on the feed', async () => {
    const carol = await bearerSignup(demo.url, 'metrics-carol', PASSWORD);
    const lagCount = async () => valueOf(await scrape(), 'tessera_revocation_propagation_lag_count');
    const before = await lagCount();
    await request(demo.url).post('/auth/logout').set('Authorization', `Bearer ${carol.accessToken}`).expect(204);
    const deadline = Date.now() + 20_000;
    while ((await lagCount()) <= before) {
      if (Date.now() > deadline) throw new Error('the revocation never reached the lag histogram');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const samples = await scrape();
    // The feed of one machine: far under the top bucket (other files' revocations in the same
    // database count too, all local).
    const count = valueOf(samples, 'tessera_revocation_propagation_lag_count');
    expect(valueOf(samples, 'tessera_revocation_propagation_lag_bucket', { le: '10' })).toBe(count);
  });

  it('counts a refused WebSocket handshake as an authentication failure', async () => {
    const before = valueOf(await scrape(), 'tessera_auth_failures_total', { tessera_auth_code: 'token_invalid' });
    const socket = io(`${demo.url}/ws`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: 'not-a-jwt' } });
    try {
      const data = await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no connect_error within 20 s')), 20_000);
        socket.once('connect', () => reject(new Error('the handshake was accepted')));
        socket.once('connect_error', (error) => {
          clearTimeout(timer);
          resolve((error as { data?: unknown }).data);
        });
      });
      expect(data).toEqual({ code: 'token_invalid' });
    } finally {
      socket.disconnect();
    }
    expect(valueOf(await scrape(), 'tessera_auth_failures_total', { tessera_auth_code: 'token_invalid' })).toBe(before + 1);
  });

  it('puts no token, secret or raw session id in any sample', async () => {
    const dave = await bearerSignup(demo.url, 'metrics-dave', PASSWORD);
    const text = (await request(demo.url).get('/metrics').expect(200)).text;
    for (const secret of [dave.accessToken, dave.refreshToken, dave.session.id, demo.jwtSecret, demo.sessionSecret, dave.user.id]) {
      expect(text.includes(secret)).toBe(false);
    }
  });
});

describe(`GET /metrics without METRICS=on (${REAL_BACKENDS})`, () => {
  it('answers 404', async () => {
    const demo = await startDemoApp();
    try {
      const response = await request(demo.url).get('/metrics').expect(404);
      expect(response.text).not.toContain('tessera_');
    } finally {
      await demo.close();
    }
  });
});
