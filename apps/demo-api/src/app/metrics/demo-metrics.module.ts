import { Controller, Get, Header, Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Public } from '@tessera/session';
import type { AppConfig } from '../config/app-config';
import type { DemoMetrics } from './demo-metrics';

/** Injection token of the app's `DemoMetrics`: null unless `METRICS=on`. */
export const DEMO_METRICS = Symbol('DemoMetrics');

/** Flushes and stops the meter provider with the app. */
@Injectable()
export class DemoMetricsLifecycle implements OnApplicationShutdown {
  constructor(@Inject(DEMO_METRICS) private readonly metrics: DemoMetrics | null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.metrics?.meterProvider.shutdown().catch(() => undefined);
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

/**
 * METRICS=on: provides `DEMO_METRICS` (the meter provider `SessionModule` records into) and
 * mounts `GET /metrics`. METRICS=off: `DEMO_METRICS` is null and the SDK is never loaded.
 */
@Module({})
export class DemoMetricsModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: DemoMetricsModule,
      controllers: config.metrics ? [MetricsController] : [],
      providers: [
        {
          provide: DEMO_METRICS,
          // Eager: in the bundle, evaluated only here.
          useFactory: async () =>
            config.metrics ? new (await import(/* webpackMode: "eager" */ './demo-metrics')).DemoMetrics() : null,
        },
        DemoMetricsLifecycle,
      ],
      exports: [DEMO_METRICS],
    };
  }
}
