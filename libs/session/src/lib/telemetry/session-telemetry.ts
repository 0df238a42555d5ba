import { performance } from 'node:perf_hooks';
import { SessionUnauthorizedException } from '../exceptions/session-auth.exception';
import { storeOutageOf } from '../exceptions/session-unavailable.exception';
import type { SessionStore } from '../interfaces/session-store.interface';
import type { ResolvedSessionOptions } from '../options/session-options';
import { STORE_METHODS } from '../options/session-options';
import { isNoopMeterProvider, isNoopTracerProvider, loadOpenTelemetryApi } from './otel-api';
import type {
  OpenTelemetryApi,
  TelemetryAttributes,
  TelemetryInstrument,
  TelemetryMeter,
  TelemetryObservable,
  TelemetryObservableResult,
  TelemetrySpan,
  TelemetryTracer,
} from './otel-api';

/** Instrumentation scope (meter and tracer name) of everything Tessera records. */
export const TELEMETRY_SCOPE = '@tessera/session';

/**
 * The names of Tessera's metrics (OpenTelemetry naming: dot-separated, no unit or `_total`
 * in the name; durations in seconds). OpenTelemetry's Prometheus exporter turns
 * `tessera.session.logins` into `tessera_session_logins_total`, attribute
 * `tessera.outcome` into label `tessera_outcome`, and `tessera.store.operation.duration`
 * into `tessera_store_operation_duration_{bucket,sum,count}`.
 */
export const SessionMetric = {
  /** Counter: sessions created (`tessera.outcome` `success`) and app-reported failed logins (`failure`). */
  Logins: 'tessera.session.logins',
  /** Counter: refreshes by `tessera.outcome` (`success`, or the refusal's code, `store_unavailable`, `error`). */
  Refreshes: 'tessera.session.refreshes',
  /** Counter: refresh-token reuse detections (RFC 9700 §4.14.2), each revoking a session. */
  ReuseDetections: 'tessera.session.reuse_detections',
  /** Counter: sessions revoked by this instance, by `tessera.revocation.reason`. */
  Revocations: 'tessera.session.revocations',
  /** Counter: requests refused by the CSRF checks, by `tessera.csrf.check`. */
  CsrfRefusals: 'tessera.csrf.refusals',
  /** Counter: requests refused authentication, by `tessera.auth.code` (the 401's code, or `store_unavailable`). */
  AuthFailures: 'tessera.auth.failures',
  /** Histogram (s): `SessionService.refresh`, by `tessera.outcome`. */
  RefreshDuration: 'tessera.session.refresh.duration',
  /** Histogram (s): each session-store call, by `tessera.store.operation` (and `error.type` when it failed). */
  StoreDuration: 'tessera.store.operation.duration',
  /** Histogram (s): from a revocation's commit in the store to this instance hearing it on the feed. */
  PropagationLag: 'tessera.revocation.propagation.lag',
  /** Gauge: sessions in the revocation cache (`cached` mode). */
  RevocationCacheSize: 'tessera.revocation_cache.size',
  /** Gauge: 1 while the revocation feed is connected, 0 while it reconnects (absent when none is open). */
  FeedConnected: 'tessera.revocation_feed.connected',
  /** Gauge: live sessions in the store, sampled every `telemetry.liveSessionsSampleInterval`. */
  LiveSessions: 'tessera.sessions.live',
} as const;

// Seconds. Store calls take well under a millisecond on a local Redis, refreshes a few;
// the top buckets catch an outage's timeouts (semantic conventions' HTTP buckets, extended down).
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Where the gauges read from (wired by the module at bootstrap). */
export interface SessionTelemetrySources {
  revocationCacheSize(): number;
  /** undefined when no feed is open. */
  feedConnected(): boolean | undefined;
  /** undefined while no sample was taken (or the store cannot count). */
  liveSessions(): number | undefined;
}

interface Instruments {
  logins: TelemetryInstrument;
  refreshes: TelemetryInstrument;
  reuse: TelemetryInstrument;
  revocations: TelemetryInstrument;
  csrf: TelemetryInstrument;
  authFailures: TelemetryInstrument;
  refreshDuration: TelemetryInstrument;
  storeDuration: TelemetryInstrument;
  propagationLag: TelemetryInstrument;
  gauges: TelemetryObservable[];
}

/**
 * Tessera's metrics and traces, through `@opentelemetry/api` (an optional peer dependency):
 * the meter and tracer of the app's SDK, or of `telemetry.meterProvider` /
 * `telemetry.tracerProvider`. Without the package, without an SDK registered when the
 * module boots, or with `telemetry.enabled: false`, nothing is wrapped or recorded: every
 * method below is a flag test. The hot path of an authenticated request records only its
 * refusals.
 *
 * Spans carry no token, secret or raw session id: sessions appear as their fingerprint
 * (`SessionEvents.fingerprint`), errors as their class or code (`error.type`), never their
 * message (a driver's message may quote SQL or values).
 */
export class SessionTelemetry {
  /** Whether metrics are recorded. */
  readonly metricsEnabled: boolean;
  /** Whether spans are made. */
  readonly tracingEnabled: boolean;
  private readonly instruments: Instruments | undefined;
  private readonly tracer: TelemetryTracer | undefined;
  private readonly internalKind: number;
  private readonly errorStatus: number;
  private sources: SessionTelemetrySources | undefined;

  private constructor(api: OpenTelemetryApi | null, options: ResolvedSessionOptions['telemetry']) {
    const meterProvider = api && options.enabled ? (options.meterProvider ?? api.metrics.getMeterProvider()) : null;
    const tracerProvider = api && options.enabled ? (options.tracerProvider ?? api.trace.getTracerProvider()) : null;
    this.metricsEnabled = !!api && !!meterProvider && !isNoopMeterProvider(api, meterProvider);
    this.tracingEnabled = !!api && !!tracerProvider && !isNoopTracerProvider(api, tracerProvider);
    this.internalKind = api?.SpanKind.INTERNAL ?? 0;
    this.errorStatus = api?.SpanStatusCode.ERROR ?? 2;
    if (this.metricsEnabled && meterProvider) this.instruments = createInstruments(meterProvider.getMeter(TELEMETRY_SCOPE));
    if (this.tracingEnabled && tracerProvider) this.tracer = tracerProvider.getTracer(TELEMETRY_SCOPE);
  }

  /** Loads `@opentelemetry/api` when installed and enabled, and looks for an SDK. */
  static async create(options: ResolvedSessionOptions['telemetry']): Promise<SessionTelemetry> {
    const api = options.enabled ? await loadOpenTelemetryApi() : null;
    return new SessionTelemetry(api, options);
  }

  /** Whether anything is recorded at all. */
  get enabled(): boolean {
    return this.metricsEnabled || this.tracingEnabled;
  }

  /** Adds one to a counter (`SessionMetric`'s counters), with its attributes. */
  count(metric: CounterName, attributes: TelemetryAttributes): void {
    this.instruments?.[COUNTERS[metric]].add?.(1, attributes);
  }

  /** A request refused authentication with this code. */
  authFailure(code: string): void {
    this.instruments?.authFailures.add?.(1, { 'tessera.auth.code': code });
  }

  /** A revocation committed at `committedAt` (the store's clock) reached this instance now. */
  revocationHeard(committedAt: Date): void {
    if (!this.instruments) return;
    const lagSeconds = Math.max(0, Date.now() - committedAt.getTime()) / 1000;
    this.instruments.propagationLag.record?.(lagSeconds);
  }

  /**
   * Runs `operation` inside a span named `name` (its store calls become child spans), and
   * sets the attributes `describe` returns from its result. A refusal (a 401 of the
   * library) is an outcome, not an error: the span gets `tessera.outcome` set to its code;
   * anything else sets the span's status to error with `error.type`.
   */
  async trace<T>(
    name: string,
    attributes: TelemetryAttributes,
    operation: () => Promise<T>,
    describe?: (result: T) => TelemetryAttributes,
  ): Promise<T> {
    if (!this.tracer) return operation();
    return this.tracer.startActiveSpan(name, { kind: this.internalKind, attributes }, async (span) => {
      try {
        const result = await operation();
        span.setAttribute('tessera.outcome', 'success');
        if (describe) setAttributes(span, describe(result));
        return result;
      } catch (error) {
        this.fail(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }

  /** `SessionService.refresh`: its span, its duration and its outcome. */
  async refresh<T>(operation: () => Promise<T>, describe: (result: T) => TelemetryAttributes): Promise<T> {
    if (!this.enabled) return operation();
    const started = performance.now();
    let outcome = 'success';
    try {
      return await this.trace('tessera.session.refresh', {}, operation, describe);
    } catch (error) {
      outcome = outcomeOf(error);
      throw error;
    } finally {
      if (this.instruments) {
        const attributes = { 'tessera.outcome': outcome };
        this.instruments.refreshes.add?.(1, attributes);
        this.instruments.refreshDuration.record?.((performance.now() - started) / 1000, attributes);
      }
    }
  }

  /**
   * The store, or when anything is recorded, a proxy of it whose `SessionStore` methods are
   * timed (`tessera.store.operation.duration`) and traced (`tessera.store.<operation>`);
   * every other property is the store's own (the proxy is `instanceof` the store's class).
   */
  instrumentStore<S extends SessionStore>(store: S): S {
    if (!this.enabled) return store;
    const wrapped = new Map<PropertyKey, unknown>();
    const methods = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const operation of [...STORE_METHODS, 'countLiveSessions']) {
      if (typeof methods[operation] !== 'function') continue;
      // Looked up at each call, so a method replaced later (a test's spy) is the one timed.
      wrapped.set(operation, (...args: unknown[]) => this.storeCall(operation, () => methods[operation].apply(store, args)));
    }
    const bound = new Map<PropertyKey, unknown>();
    return new Proxy(store, {
      get(target, property) {
        const own = wrapped.get(property);
        if (own) return own;
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        let fn = bound.get(property);
        if (!fn) bound.set(property, (fn = (value as (...a: unknown[]) => unknown).bind(target)));
        return fn;
      },
    });
  }

  /**
   * Registers the gauges' callbacks. Called once by the module at bootstrap; `detach` (at
   * shutdown) removes them, so a stopped app is no longer read.
   */
  attach(sources: SessionTelemetrySources): void {
    this.sources = sources;
    const [cacheSize, feed, live] = this.instruments?.gauges ?? [];
    cacheSize?.addCallback(this.observeCacheSize);
    feed?.addCallback(this.observeFeed);
    live?.addCallback(this.observeLive);
  }

  /** Removes the gauges' callbacks. */
  detach(): void {
    const [cacheSize, feed, live] = this.instruments?.gauges ?? [];
    cacheSize?.removeCallback(this.observeCacheSize);
    feed?.removeCallback(this.observeFeed);
    live?.removeCallback(this.observeLive);
    this.sources = undefined;
  }

  private readonly observeCacheSize = (result: TelemetryObservableResult): void => {
    if (this.sources) result.observe(this.sources.revocationCacheSize());
  };

  private readonly observeFeed = (result: TelemetryObservableResult): void => {
    const connected = this.sources?.feedConnected();
    if (connected !== undefined) result.observe(connected ? 1 : 0);
  };

  private readonly observeLive = (result: TelemetryObservableResult): void => {
    const live = this.sources?.liveSessions();
    if (live !== undefined) result.observe(live);
  };

  private async storeCall(operation: string, call: () => Promise<unknown>): Promise<unknown> {
    const started = performance.now();
    let errorType: string | undefined;
    try {
      if (!this.tracer) return await call();
      return await this.tracer.startActiveSpan(
        `tessera.store.${operation}`,
        { kind: this.internalKind, attributes: { 'tessera.store.operation': operation } },
        async (span) => {
          try {
            return await call();
          } catch (error) {
            this.fail(span, error);
            throw error;
          } finally {
            span.end();
          }
        },
      );
    } catch (error) {
      errorType = errorTypeOf(error);
      throw error;
    } finally {
      const attributes: TelemetryAttributes = { 'tessera.store.operation': operation };
      if (errorType) attributes['error.type'] = errorType;
      this.instruments?.storeDuration.record?.((performance.now() - started) / 1000, attributes);
    }
  }

  private fail(span: TelemetrySpan, error: unknown): void {
    if (error instanceof SessionUnauthorizedException) {
      span.setAttribute('tessera.outcome', error.code);
      return;
    }
    const type = errorTypeOf(error);
    span.setAttribute('tessera.outcome', storeOutageOf(error) ? 'store_unavailable' : 'error');
    span.setAttribute('error.type', type);
    // The class or code only: a driver's message can quote SQL, keys or values.
    span.setStatus({ code: this.errorStatus, message: type });
  }
}

/** `SessionMetric`'s counters that `SessionTelemetry.count` takes. */
export type CounterName =
  | typeof SessionMetric.Logins
  | typeof SessionMetric.ReuseDetections
  | typeof SessionMetric.Revocations
  | typeof SessionMetric.CsrfRefusals;

const COUNTERS = {
  [SessionMetric.Logins]: 'logins',
  [SessionMetric.ReuseDetections]: 'reuse',
  [SessionMetric.Revocations]: 'revocations',
  [SessionMetric.CsrfRefusals]: 'csrf',
} as const satisfies Record<CounterName, keyof Instruments>;

function createInstruments(meter: TelemetryMeter): Instruments {
  const counter = (name: string, unit: string, description: string) => meter.createCounter(name, { unit, description });
  const histogram = (name: string, description: string) =>
    meter.createHistogram(name, { unit: 's', description, advice: { explicitBucketBoundaries: DURATION_BUCKETS } });
  const gauge = (name: string, unit: string, description: string) =>
    meter.createObservableGauge(name, { unit, description });
  return {
    logins: counter(SessionMetric.Logins, '{login}', 'Logins: sessions created, and failures the app reported'),
    refreshes: counter(SessionMetric.Refreshes, '{refresh}', 'Refresh-token exchanges, by outcome'),
    reuse: counter(SessionMetric.ReuseDetections, '{detection}', 'Refresh-token reuse detections'),
    revocations: counter(SessionMetric.Revocations, '{session}', 'Sessions revoked, by reason'),
    csrf: counter(SessionMetric.CsrfRefusals, '{request}', 'Requests refused by CSRF protection, by check'),
    authFailures: counter(SessionMetric.AuthFailures, '{request}', 'Requests refused authentication, by code'),
    refreshDuration: histogram(SessionMetric.RefreshDuration, 'Duration of refresh-token exchanges'),
    storeDuration: histogram(SessionMetric.StoreDuration, 'Duration of session-store calls'),
    propagationLag: histogram(SessionMetric.PropagationLag, 'From a revocation commit to this instance hearing it'),
    gauges: [
      gauge(SessionMetric.RevocationCacheSize, '{session}', 'Sessions in the revocation cache'),
      gauge(SessionMetric.FeedConnected, '1', 'Whether the revocation feed is connected'),
      gauge(SessionMetric.LiveSessions, '{session}', 'Live sessions in the store (sampled)'),
    ],
  };
}

function setAttributes(span: TelemetrySpan, attributes: TelemetryAttributes): void {
  for (const [key, value] of Object.entries(attributes)) span.setAttribute(key, value);
}

/** A refusal's code, `store_unavailable` for an outage, `error` for anything else. */
export function outcomeOf(error: unknown): string {
  if (error instanceof SessionUnauthorizedException) return error.code;
  return storeOutageOf(error) ? 'store_unavailable' : 'error';
}

/** `error.type` (semantic conventions): a code the error carries, else its class name. */
function errorTypeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code)) return code;
  return error instanceof Error ? error.name : typeof error;
}
