import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';

/**
 * The demo's metrics pipeline when `METRICS=on`: an OpenTelemetry `MeterProvider` read by
 * the official Prometheus exporter, without its own HTTP server (`GET /metrics` below serves
 * it on the app's port). Handed to `SessionModule` as `telemetry.meterProvider`, not
 * registered globally: each app (two in one test process) keeps its own counters. Loaded
 * only with `METRICS=on` (`DemoMetricsModule`), so that without it the demo never loads an
 * OpenTelemetry SDK.
 */
export class DemoMetrics {
  readonly exporter = new PrometheusExporter({ preventServerStart: true });
  readonly meterProvider = new MeterProvider({
    resource: resourceFromAttributes({ 'service.name': 'tessera-demo-api' }),
    readers: [this.exporter],
  });
  private readonly serializer = new PrometheusSerializer();

  /** One collection, in Prometheus' text format. */
  async scrape(): Promise<string> {
    const { resourceMetrics } = await this.exporter.collect();
    return this.serializer.serialize(resourceMetrics);
  }
}

