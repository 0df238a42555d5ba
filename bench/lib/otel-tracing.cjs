// Preload (`node --require`) of the telemetry scenario's `sdk` variant: registers an
// OpenTelemetry tracing SDK before the app loads, as an app's `--require ./tracing` does: the
// AsyncLocalStorage context manager and a tracer provider whose batch processor hands every
// span to an exporter that counts and drops them (the cost of making, recording and batching
// spans, without a network). The app's METRICS=on adds the metrics SDK.
const { context, trace } = require('@opentelemetry/api');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');

let exported = 0;
const exporter = {
  export(spans, done) {
    exported += spans.length;
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
  forceFlush: () => Promise.resolve(),
};
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] }));
process.stderr.write('bench: OpenTelemetry tracing SDK registered (otel-tracing.cjs)\n');
process.once('exit', () => process.stderr.write(`bench: ${exported} spans exported\n`));
