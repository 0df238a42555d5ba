import request from 'supertest';
import { bearerSignup, startDemoApp, uniqueEmail } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';

/** `depth` arrays nested in one another around `1`: `[[[1]]]` is depth 3. */
function nestedArrays(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

/** `depth` objects nested in one another: `{"a":{"a":1}}` is depth 2. */
function nestedObjects(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** A JSON object whose `field` holds `value` (raw JSON text): one more level than `value`. */
function bodyWith(field: string, value: string, rest: Record<string, unknown> = {}): string {
  const others = Object.entries(rest).map(([key, v]) => `,${JSON.stringify(key)}:${JSON.stringify(v)}`);
  return `{${JSON.stringify(field)}:${value}${others.join('')}}`;
}

describe('finding 3: deeply nested JSON bodies answer 400, never 500', () => {
  let demo: DemoApp;
  let accessToken: string;

  beforeAll(async () => {
    demo = await startDemoApp();
    ({ accessToken } = await bearerSignup(demo.url, 'deep', PASSWORD));
  });

  afterAll(async () => {
    await demo.close();
  });

  /** Every route that takes a JSON body, with the headers that get it past CSRF (bearer mode) and authentication. */
  const routes: Array<[string, () => Record<string, string>]> = [
    ['/auth/login', () => ({ 'X-Auth-Mode': 'bearer' })],
    ['/auth/register', () => ({ 'X-Auth-Mode': 'bearer' })],
    ['/auth/refresh', () => ({ 'X-Auth-Mode': 'bearer' })],
    ['/auth/logout-all', () => ({ Authorization: `Bearer ${accessToken}` })],
    ['/api/me/password', () => ({ Authorization: `Bearer ${accessToken}` })],
  ];

  const deepBodies: Array<[string, () => string]> = [
    ['arrays 1,500 deep in a field', () => bodyWith('email', nestedArrays(1_500), { password: PASSWORD })],
    ['objects 2,500 deep in a field', () => bodyWith('keepCurrent', nestedObjects(2_500))],
    ['arrays 1,500 deep as the whole body', () => nestedArrays(1_500)],
    ['objects 2,500 deep as the whole body', () => nestedObjects(2_500)],
    // The deepest bodies that fit in the 100 kB limit.
    ['arrays 50,000 deep', () => bodyWith('refreshToken', nestedArrays(50_000))],
    ['objects 16,000 deep', () => bodyWith('currentPassword', nestedObjects(16_000), { newPassword: PASSWORD })],
  ];

  describe.each(routes)('POST %s', (path, headers) => {
    it.each(deepBodies)('answers 400 validation_failed for %s', async (_label, body) => {
      const text = body();
      expect(Buffer.byteLength(text)).toBeLessThan(100 * 1024);
      const response = await request(demo.url)
        .post(path)
        .set(headers())
        .set('Content-Type', 'application/json')
        .send(text);
      expect({ status: response.status, code: response.body.code }).toEqual({ status: 400, code: 'validation_failed' });
      expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request', fields: ['body'] });
      expect(response.body.message).toEqual([expect.stringMatching(/nested too deeply/)]);
    });

    it('answers 400, never 500, for 100,000 unclosed brackets (the most a 100 kB body holds)', async () => {
      const response = await request(demo.url)
        .post(path)
        .set(headers())
        .set('Content-Type', 'application/json')
        .send('['.repeat(100_000));
      expect(response.status).toBe(400);
      expect(['validation_failed', 'invalid_json']).toContain(response.body.code);
    });
  });

  it('lets nesting up to 32 levels through to validation, and refuses 33 as too deep', async () => {
    // The body object is level 1; the email's value adds `arrays` more.
    const loginWithEmailNested = (arrays: number) =>
      request(demo.url)
        .post('/auth/login')
        .set('X-Auth-Mode', 'bearer')
        .set('Content-Type', 'application/json')
        .send(bodyWith('email', nestedArrays(arrays), { password: PASSWORD }));

    const at32 = await loginWithEmailNested(31).expect(400);
    expect(at32.body).toMatchObject({ code: 'validation_failed', fields: ['email'] });

    const at33 = await loginWithEmailNested(32).expect(400);
    expect(at33.body).toMatchObject({ code: 'validation_failed', fields: ['body'] });
  });

  it('still serves valid bodies: register, login, refresh, logout-all, password change', async () => {
    const email = uniqueEmail('shallow');
    const bearer = { 'X-Auth-Mode': 'bearer' };
    await request(demo.url).post('/auth/register').set(bearer).send({ email, password: PASSWORD }).expect(201);
    const login = await request(demo.url).post('/auth/login').set(bearer).send({ email, password: PASSWORD }).expect(200);
    const refreshed = await request(demo.url)
      .post('/auth/refresh')
      .set(bearer)
      .send({ refreshToken: login.body.refreshToken })
      .expect(200);
    const auth = { Authorization: `Bearer ${refreshed.body.accessToken}` };
    const changed = await request(demo.url)
      .post('/api/me/password')
      .set(auth)
      .send({ currentPassword: PASSWORD, newPassword: `${PASSWORD}!` })
      .expect(200);
    await request(demo.url)
      .post('/auth/logout-all')
      .set({ Authorization: `Bearer ${changed.body.accessToken}` })
      .send({ keepCurrent: false })
      .expect(204);
  });
});
