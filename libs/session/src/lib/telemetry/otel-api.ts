// The part of `@opentelemetry/api` (an optional peer dependency) that Tessera uses, spelled
// out structurally: the core's type declarations never name the package, so an app without
// it compiles (with `skipLibCheck` off too), and the package is loaded only at boot, once.

/** Attribute values Tessera records: strings, numbers and booleans only. */
export type TelemetryAttributes = Record<string, string | number | boolean>;

/** `Counter` / `Histogram` of `@opentelemetry/api`. */
export interface TelemetryInstrument {
  add?(value: number, attributes?: TelemetryAttributes): void;
  record?(value: number, attributes?: TelemetryAttributes): void;
}

/** What an observable instrument's callback receives. */
export interface TelemetryObservableResult {
  observe(value: number, attributes?: TelemetryAttributes): void;
}

/** `ObservableGauge` of `@opentelemetry/api`. */
export interface TelemetryObservable {
  addCallback(callback: (result: TelemetryObservableResult) => void): void;
  removeCallback(callback: (result: TelemetryObservableResult) => void): void;
}

interface InstrumentOptions {
  description?: string;
  unit?: string;
  advice?: { explicitBucketBoundaries?: number[] };
}

/** `Meter` of `@opentelemetry/api`. */
export interface TelemetryMeter {
  createCounter(name: string, options?: InstrumentOptions): TelemetryInstrument;
  createHistogram(name: string, options?: InstrumentOptions): TelemetryInstrument;
  createObservableGauge(name: string, options?: InstrumentOptions): TelemetryObservable;
}

/** `MeterProvider` of `@opentelemetry/api` (the SDK's `MeterProvider` is one). */
export interface TelemetryMeterProvider {
  getMeter(name: string, version?: string): TelemetryMeter;
}

/** `Span` of `@opentelemetry/api`. */
export interface TelemetrySpan {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}

/** `Tracer` of `@opentelemetry/api`. */
export interface TelemetryTracer {
  startActiveSpan<T>(
    name: string,
    options: { kind?: number; attributes?: TelemetryAttributes },
    fn: (span: TelemetrySpan) => T,
  ): T;
}

/** `TracerProvider` of `@opentelemetry/api` (the SDK's `BasicTracerProvider` is one). */
export interface TelemetryTracerProvider {
  getTracer(name: string, version?: string): TelemetryTracer;
}

/** The module `@opentelemetry/api`, as far as Tessera uses it. */
export interface OpenTelemetryApi {
  metrics: { getMeterProvider(): TelemetryMeterProvider };
  trace: { getTracerProvider(): TelemetryTracerProvider };
  createNoopMeter(): TelemetryMeter;
  ProxyTracerProvider: new () => TelemetryTracerProvider & { getDelegate(): TelemetryTracerProvider };
  SpanKind: { INTERNAL: number };
  SpanStatusCode: { ERROR: number };
}

let loading: Promise<OpenTelemetryApi | null> | undefined;

/** Loads `@opentelemetry/api` once; null when it is not installed. */
export function loadOpenTelemetryApi(): Promise<OpenTelemetryApi | null> {
  loading ??= import('@opentelemetry/api').then(
    (loaded) => {
      // The ES module's namespace, or CommonJS exports behind `default` (a CJS build's interop).
      const api = loaded as unknown as OpenTelemetryApi & { default?: OpenTelemetryApi };
      return typeof api.createNoopMeter === 'function' ? api : (api.default ?? null);
    },
    () => null,
  );
  return loading;
}

/** Whether a meter provider is the API's no-op one (no SDK registered): its meters record nothing. */
export function isNoopMeterProvider(api: OpenTelemetryApi, provider: TelemetryMeterProvider): boolean {
  return Object.getPrototypeOf(provider.getMeter('tessera')) === Object.getPrototypeOf(api.createNoopMeter());
}

/**
 * Whether a tracer provider is the API's no-op one: the global provider is a proxy whose
 * delegate stays the shared no-op provider until an SDK registers one.
 */
export function isNoopTracerProvider(api: OpenTelemetryApi, provider: TelemetryTracerProvider): boolean {
  const noop = new api.ProxyTracerProvider().getDelegate();
  if (provider === noop) return true;
  return provider instanceof api.ProxyTracerProvider && provider.getDelegate() === noop;
}
