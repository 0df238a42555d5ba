import { Controller, Get, Header, Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Public } from '@tessera/session';

/**
 * The demo's metrics pipeline when `METRICS=on`: an OpenTelemetry `MeterProvider` read by
 * the official Prometheus exporter, without its own HTTP server (`GET /metrics` below serves
 * it on the app's port). Handed to `SessionModule` as `telemetry.meterProvider`, not
 * registered globally: each app (two in one test process) keeps its own counters.
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

/** Injection token of the app's `DemoMetrics` (provided only with `METRICS=on`). */
export const DEMO_METRICS = Symbol('DemoMetrics');

/** Flushes and stops the meter provider with the app. */
@Injectable()
export class DemoMetricsLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DEMO_METRICS) private readonly metrics: DemoMetrics) {}

  async onApplicationShutdown(): Promise<void> {
    await this.metrics.meterProvider.shutdown().catch(() => undefined);
  }
}

/**
 * `GET /metrics`: Prometheus text (mounted only with `METRICS=on`; otherwise the route does
 * not exist and answers 404). It needs no credential: bind it to a private interface or
 * let only the scraper reach it.
 */
@ApiTags('health')
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(DEMO_METRICS) private readonly metrics: DemoMetrics) {}

  @Public()
  @Get()
  @ApiOperation({
    summary: 'Prometheus metrics (METRICS=on only; 404 otherwise)',
    description:
      "Tessera's counters, histograms and gauges (tessera_*), from OpenTelemetry's Prometheus exporter. No credential: keep it off the public network.",
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format 0.0.4' })
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
