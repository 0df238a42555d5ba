import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { DataPoint, MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { FakeClock } from '../../testing';
import type { SessionTelemetryOptions } from '../interfaces/session-module-options.interface';
import { SessionStore } from '../interfaces/session-store.interface';
import { SessionService } from '../services/session.service';
import { SessionEvents } from '../services/session-events.service';
import { SessionModule } from '../session.module';
import { InMemorySessionStore } from '../stores/in-memory-session.store';
import { SessionTelemetry } from './session-telemetry';

const jwtSecret = 'telemetry-spec-jwt-secret-of-32-bytes!!';
const sessionSecret = 'telemetry-spec-session-secret-32-bytes!';

/** A pull reader: `collect()` on demand, as Prometheus' exporter does. */
class TestReader extends MetricReader {
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }

  async metrics(): Promise<MetricData[]> {
    const { resourceMetrics } = await this.collect();
    return resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  }
}

/** The value (a counter's sum, a gauge's value, a histogram's count) of the data point with these attributes. */
function pointOf(metrics: MetricData[], name: string, attributes: Record<string, unknown> = {}): number | undefined {
  const metric = metrics.find((candidate) => candidate.descriptor.name === name);
  const points = (metric?.dataPoints ?? []) as Array<DataPoint<unknown>>;
  const point = points.find((candidate) => Object.entries(attributes).every(([key, value]) => candidate.attributes[key] === value));
  if (!point) return undefined;
  const value = point.value as number | { count: number };
  return typeof value === 'number' ? value : value.count;
}

async function boot(telemetry: SessionTelemetryOptions | undefined, store = new InMemorySessionStore()): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [SessionModule.forRoot({ jwtSecret, sessionSecret, clock: new FakeClock(), store, telemetry })],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('SessionTelemetry', () => {
  const opened: TestingModule[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((moduleRef) => moduleRef.close()));
  });
  const start = async (telemetry?: SessionTelemetryOptions, store?: InMemorySessionStore) => {
    const moduleRef = await boot(telemetry, store);
    opened.push(moduleRef);
    return moduleRef;
  };

  it('records nothing and wraps nothing without an SDK (the API loaded, no provider registered)', async () => {
    const store = new InMemorySessionStore();
    const moduleRef = await start(undefined, store);
    const telemetry = moduleRef.get(SessionTelemetry);
    expect([telemetry.enabled, telemetry.metricsEnabled, telemetry.tracingEnabled]).toEqual([false, false, false]);
    expect(moduleRef.get(SessionStore)).toBe(store);
  });

  it('records nothing with enabled: false, even with providers given', async () => {
    const store = new InMemorySessionStore();
    const meterProvider = new MeterProvider({ readers: [new TestReader()] });
    const tracerProvider = new BasicTracerProvider();
    const moduleRef = await start({ enabled: false, meterProvider, tracerProvider }, store);
    expect(moduleRef.get(SessionTelemetry).enabled).toBe(false);
    expect(moduleRef.get(SessionStore)).toBe(store);
  });

  it('counts logins and refreshes, times store calls, and reads the gauges, through a given meter provider', async () => {
    const reader = new TestReader();
    const store = new InMemorySessionStore();
    const moduleRef = await start({ meterProvider: new MeterProvider({ readers: [reader] }) }, store);
    expect(moduleRef.get(SessionTelemetry).metricsEnabled).toBe(true);
    const sessions = moduleRef.get(SessionService);
    const issued = await sessions.create({ id: 'user-1', roles: [] });
    await sessions.refresh(issued.refreshToken);
    await expect(sessions.refresh('forged')).rejects.toMatchObject({ code: 'invalid_refresh_token' });
    const other = await sessions.create({ id: 'user-2', roles: [] });
    await sessions.revoke(other.session.id, 'logout');
    // An app-made reason is `other` (bounded label values).
    const third = await sessions.create({ id: 'user-3', roles: [] });
    await sessions.revoke(third.session.id, 'Made Up Reason!' as 'logout');
    moduleRef.get(SessionEvents).emit({ type: 'login.failed', at: new Date(), userId: null, sessionFingerprint: null });

    const metrics = await reader.metrics();
    expect(pointOf(metrics, 'tessera.session.logins', { 'tessera.outcome': 'success' })).toBe(3);
    expect(pointOf(metrics, 'tessera.session.logins', { 'tessera.outcome': 'failure' })).toBe(1);
    expect(pointOf(metrics, 'tessera.session.refreshes', { 'tessera.outcome': 'success' })).toBe(1);
    expect(pointOf(metrics, 'tessera.session.refreshes', { 'tessera.outcome': 'invalid_refresh_token' })).toBe(1);
    expect(pointOf(metrics, 'tessera.session.revocations', { 'tessera.revocation.reason': 'logout' })).toBe(1);
    expect(pointOf(metrics, 'tessera.session.revocations', { 'tessera.revocation.reason': 'other' })).toBe(1);
    expect(pointOf(metrics, 'tessera.session.refresh.duration', { 'tessera.outcome': 'success' })).toBe(1);
    expect(pointOf(metrics, 'tessera.store.operation.duration', { 'tessera.store.operation': 'create' })).toBe(3);
    // Cached mode: the feed is open (in process, so connected); two sessions revoked; one live
    // session sampled at bootstrap was none (the sample runs once a minute).
    expect(pointOf(metrics, 'tessera.revocation_feed.connected')).toBe(1);
    expect(pointOf(metrics, 'tessera.revocation_cache.size')).toBe(2);
    expect(pointOf(metrics, 'tessera.sessions.live')).toBe(0);
    // The in-memory store announces its revocations' times: the lag of both was measured.
    expect(pointOf(metrics, 'tessera.revocation.propagation.lag')).toBe(2);
  });

  it('keeps the store itself behind its proxy: its class, its other methods, its errors', async () => {
    const store = new InMemorySessionStore();
    const moduleRef = await start({ meterProvider: new MeterProvider({ readers: [new TestReader()] }) }, store);
    const proxied = moduleRef.get<InMemorySessionStore>(SessionStore);
    expect(proxied).not.toBe(store);
    expect(proxied).toBeInstanceOf(InMemorySessionStore);
    expect(proxied.feedStatus()).toMatchObject({ open: true, connected: true });
    const failure = new Error('boom');
    jest.spyOn(store, 'findById').mockRejectedValueOnce(failure);
    await expect(proxied.findById('x')).rejects.toBe(failure);
  });

  it('makes spans through a given tracer provider, refusals as outcomes', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const moduleRef = await start({ tracerProvider, liveSessionsSampleInterval: 0 });
    const telemetry = moduleRef.get(SessionTelemetry);
    expect([telemetry.metricsEnabled, telemetry.tracingEnabled]).toEqual([false, true]);
    const sessions = moduleRef.get(SessionService);
    const issued = await sessions.create({ id: 'user-1', roles: [] });
    await expect(sessions.refresh('forged')).rejects.toBeDefined();
    await sessions.revokeAllForUser('user-1', 'logout_all');
    const spans = exporter.getFinishedSpans();
    const byName = (name: string) => spans.filter((span) => span.name === name);
    expect(byName('tessera.session.login')[0].attributes).toMatchObject({ 'user.id': 'user-1', 'tessera.outcome': 'success' });
    expect(byName('tessera.session.refresh')[0].attributes['tessera.outcome']).toBe('invalid_refresh_token');
    expect(byName('tessera.session.revoke_all')[0].attributes).toMatchObject({ 'tessera.revoked_count': 1 });
    expect(byName('tessera.store.create')).toHaveLength(1);
    expect(JSON.stringify(spans.map((span) => span.attributes))).not.toContain(issued.session.id);
  });

  it('refuses a provider that is not one', async () => {
    await expect(boot({ meterProvider: {} as never })).rejects.toThrow(/telemetry\.meterProvider/);
  });
});
