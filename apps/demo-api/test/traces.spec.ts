import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { SessionStore } from '@tessera/session';
import request from 'supertest';
import { REAL_BACKENDS, bearerRefresh, bearerSignup, startDemoApp } from './support/demo-app';
import type { DemoApp } from './support/demo-app';

const PASSWORD = 'correct horse battery';
const FINGERPRINT = /^[A-Za-z0-9_-]{16}$/;

/**
 * Spans (issue 19): the app registers an OpenTelemetry SDK (here a tracer provider with the
 * in-memory exporter, and the AsyncLocalStorage context manager, as NodeSDK does) before the
 * demo boots; the library then traces logins, refreshes, revocations and each store call
 * under them. Like the audit trail, no span may carry a token, secret or raw session id.
 */
describe(`spans through the app's OpenTelemetry SDK (${REAL_BACKENDS})`, () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  let demo: DemoApp;

  beforeAll(async () => {
    context.setGlobalContextManager(contextManager);
    trace.setGlobalTracerProvider(provider);
    demo = await startDemoApp({ METRICS: 'off' });
  });

  afterAll(async () => {
    await demo?.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const named = (name: string): ReadableSpan[] => spans().filter((span) => span.name === name);
  const childrenOf = (parent: ReadableSpan): ReadableSpan[] =>
    spans().filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);

  it('traces login, refresh, reuse and logout, with store calls as child spans and no secret in any span', async () => {
    exporter.reset();
    const alice = await bearerSignup(demo.url, 'traces-alice', PASSWORD);
    const refreshed = (await bearerRefresh(demo.url, alice.refreshToken).expect(200)).body;
    demo.clock.advance(11_000);
    await bearerRefresh(demo.url, alice.refreshToken).expect(401);
    const bob = await bearerSignup(demo.url, 'traces-bob', PASSWORD);
    await request(demo.url).post('/auth/logout').set('Authorization', `Bearer ${bob.accessToken}`).expect(204);

    const [login] = named('tessera.session.login').filter((span) => span.attributes['user.id'] === alice.user.id);
    expect(login).toBeDefined();
    expect(login.attributes['tessera.outcome']).toBe('success');
    expect(login.attributes['tessera.session.fingerprint']).toMatch(FINGERPRINT);
    expect(childrenOf(login).map((span) => span.name)).toContain('tessera.store.create');

    const refreshes = named('tessera.session.refresh');
    expect(refreshes.map((span) => span.attributes['tessera.outcome'])).toEqual(['success', 'refresh_token_reused']);
    const [rotated, reused] = refreshes;
    expect(rotated.attributes['tessera.session.fingerprint']).toBe(login.attributes['tessera.session.fingerprint']);
    expect(childrenOf(rotated).map((span) => span.name)).toContain('tessera.store.rotateRefresh');
    // A refusal is an outcome, not an error; the store calls under it succeeded.
    expect(reused.status.code).toBe(0);
    expect(childrenOf(reused).map((span) => span.name)).toEqual(
      expect.arrayContaining(['tessera.store.rotateRefresh', 'tessera.store.findById', 'tessera.store.revoke']),
    );

    const logout = named('tessera.session.revoke').find((span) => span.attributes['tessera.revocation.reason'] === 'logout');
    expect(logout?.attributes).toMatchObject({ 'tessera.revoked': true, 'tessera.session.fingerprint': expect.stringMatching(FINGERPRINT) });
    for (const span of spans().filter((candidate) => candidate.name.startsWith('tessera.store.'))) {
      expect(span.attributes['tessera.store.operation']).toBe(span.name.slice('tessera.store.'.length));
    }

    // The scan, as the audit trail's: every token, secret and raw session id the test handled.
    const everything = JSON.stringify(
      spans().map((span) => ({ name: span.name, attributes: span.attributes, events: span.events, status: span.status, links: span.links })),
    );
    const secrets = [demo.jwtSecret, demo.sessionSecret, PASSWORD, alice.accessToken, alice.refreshToken, refreshed.accessToken];
    secrets.push(refreshed.refreshToken, bob.accessToken, bob.refreshToken, alice.session.id, bob.session.id);
    for (const secret of secrets) {
      expect(everything.includes(secret)).toBe(false);
      const tail = secret.split('.').pop() ?? secret;
      if (tail.length >= 16) expect(everything.includes(tail)).toBe(false);
    }
  });

  it('marks a store failure as an error span with error.type only, never its message', async () => {
    exporter.reset();
    const carol = await bearerSignup(demo.url, 'traces-carol', PASSWORD);
    // Bypasses the HTTP layer: the store refuses a second create of the same id.
    const store = demo.app.get(SessionStore, { strict: false }) as { create(record: unknown): Promise<void>; findById(id: string): Promise<unknown> };
    const record = await store.findById(carol.session.id);
    await expect(store.create(record)).rejects.toBeDefined();
    const [failed] = named('tessera.store.create').filter((span) => span.status.code === 2);
    expect(failed).toBeDefined();
    expect(typeof failed.attributes['error.type']).toBe('string');
    expect(failed.status.message).toBe(failed.attributes['error.type']);
    // The driver's message names the duplicate key: it must not reach the span.
    const text = JSON.stringify({ attributes: failed.attributes, events: failed.events, status: failed.status });
    expect(text).not.toContain(carol.session.id);
    expect(text).not.toMatch(/duplicate|violates|INSERT/i);
  });
});
