import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { startRedisServer, startTcpProxy } from '@tessera/testing-support';
import type { RedisTestServer, TcpProxy } from '@tessera/testing-support';
import { bearerRefresh, bearerSignup, startDemoApp } from './support/demo-app';
import type { BearerLogin, DemoApp } from './support/demo-app';

// Sessions in Redis, whatever store the rest of the run uses: these tests are about Redis
// going away (a server this file owns, stopped and started again; a connection cut).
const PASSWORD = 'correct horse battery staple';

/** Polls `probe` until it returns true; fails after `ms` (generous: the machine is shared). */
async function until(probe: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const me = (app: DemoApp, session: BearerLogin) => request(app.url).get('/api/me').set('Authorization', `Bearer ${session.accessToken}`);

/** The demo on Redis at `url` under `prefix`, in `mode`. */
function redisApp(url: string, prefix: string, mode: 'strict' | 'cached'): Promise<DemoApp> {
  return startDemoApp({
    SESSION_STORE: 'redis',
    REDIS_URL: url,
    REDIS_KEY_PREFIX: prefix,
    REVOCATION_MODE: mode,
    STORE_TIMEOUT: '500ms',
  });
}

function expectUnavailable(response: request.Response): void {
  expect({ status: response.status, code: response.body?.code }).toEqual({ status: 503, code: 'store_unavailable' });
  expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
  expect(response.headers['www-authenticate']).toBeUndefined();
}

describe('the demo on Redis while Redis is down, and after it is back', () => {
  let redis: RedisTestServer;
  let strict: DemoApp;
  let cached: DemoApp;

  beforeAll(async () => {
    // Append-only with fsync on every write: what is acknowledged survives the restart.
    redis = await startRedisServer({ persistence: true });
    const prefix = `outage-${randomBytes(4).toString('hex')}`;
    strict = await redisApp(redis.url, prefix, 'strict');
    cached = await redisApp(redis.url, prefix, 'cached');
  });

  afterAll(async () => {
    await Promise.allSettled([strict?.close(), cached?.close()]);
    await redis?.close();
  });

  it('answers 503 store_unavailable (never 401, never 500) for what needs Redis, keeps cached requests working, and recovers without a restart', async () => {
    const user = await bearerSignup(strict.url, 'outage', PASSWORD);
    const other = await request(strict.url)
      .post('/auth/login')
      .set('X-Auth-Mode', 'bearer')
      .send({ email: user.email, password: PASSWORD })
      .expect(200);
    const second: BearerLogin = { email: user.email, ...other.body };
    await me(strict, user).expect(200);
    await me(cached, second).expect(200);

    await redis.stop();

    // strict reads the session on every request: 503 while Redis is gone.
    await until(async () => (await me(strict, user)).status === 503, 'strict requests to answer 503');
    expectUnavailable(await me(strict, user));
    // cached: a valid access token keeps working.
    await me(cached, second).expect(200);
    // Refresh, login and logout need Redis.
    expectUnavailable(await bearerRefresh(strict.url, user.refreshToken));
    expectUnavailable(await bearerRefresh(cached.url, second.refreshToken));
    expectUnavailable(
      await request(cached.url).post('/auth/login').set('X-Auth-Mode', 'bearer').send({ email: user.email, password: PASSWORD }),
    );
    expectUnavailable(await request(strict.url).post('/auth/logout').set('Authorization', `Bearer ${user.accessToken}`));
    expectUnavailable(await request(strict.url).get('/auth/sessions').set('Authorization', `Bearer ${user.accessToken}`));
    const health = await request(strict.url).get('/health');
    expect(health.status).toBe(503);

    await redis.start();

    // The same app instances, without a restart: the clients reconnect, the scripts are
    // loaded again (the restarted server has none: NOSCRIPT), the feeds resubscribe.
    await until(async () => (await me(strict, user)).status === 200, 'strict requests to work again');
    await request(strict.url).get('/health').expect(200);
    // Nothing was rotated during the outage: the same refresh token still works.
    const refreshed = await bearerRefresh(strict.url, user.refreshToken).expect(200);
    expect(refreshed.body.refreshToken).not.toBe(user.refreshToken);
    // The cached instance's feed is back: a logout on the strict one reaches it.
    await request(strict.url).post('/auth/logout').set('Authorization', `Bearer ${second.accessToken}`).expect(204);
    await until(async () => (await me(cached, second)).status === 401, 'the logout to reach the cached instance', 10_000);
    expect((await me(cached, second)).body.code).toBe('session_revoked');
  });
});

describe('a revocation made while an instance is cut off from Redis', () => {
  let proxy: TcpProxy;
  let cutOff: DemoApp;
  let direct: DemoApp;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

  beforeAll(async () => {
    proxy = await startTcpProxy({ port: Number(new URL(redisUrl).port || 6379) });
    const prefix = `cut-${randomBytes(4).toString('hex')}`;
    cutOff = await redisApp(`redis://127.0.0.1:${proxy.port}`, prefix, 'cached');
    direct = await redisApp(redisUrl, prefix, 'cached');
  });

  afterAll(async () => {
    await Promise.allSettled([cutOff?.close(), direct?.close()]);
    await proxy?.close();
  });

  it('is honoured by that instance as soon as its feed resyncs', async () => {
    const user = await bearerSignup(direct.url, 'cut', PASSWORD);
    await me(cutOff, user).expect(200);

    proxy.cut();
    await request(direct.url).post('/auth/logout').set('Authorization', `Bearer ${user.accessToken}`).expect(204);
    // The instance never heard of it (its feed was down): cached mode trusts the token.
    await me(cutOff, user).expect(200);

    proxy.restore();
    await until(async () => (await me(cutOff, user)).status === 401, 'the resync to refuse the revoked session');
    expect((await me(cutOff, user)).body.code).toBe('session_revoked');
  });
});
