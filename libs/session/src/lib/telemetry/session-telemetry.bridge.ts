import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SessionStore } from '../interfaces/session-store.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';
import { RevocationCache } from '../services/revocation-cache.service';
import { SessionEvents } from '../services/session-events.service';
import type { SessionEvent } from '../services/session-events.service';
import { SessionMetric, SessionTelemetry } from './session-telemetry';

// Attribute values come from a closed set; a reason an app made up is `other`, so that no
// caller can grow a metric's series without bound.
const LABEL = /^[a-z0-9_]{1,40}$/;
const label = (value: string | undefined): string => (value && LABEL.test(value) ? value : 'other');

/**
 * Feeds `SessionTelemetry` at bootstrap: counts the audit events (`SessionEvents`) into
 * the counters, points the gauges at the revocation cache, the feed and a sample of live
 * sessions (one count from the store per `telemetry.liveSessionsSampleInterval`, never per
 * scrape). Does nothing when telemetry is off.
 */
@Injectable()
export class SessionTelemetryBridge implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SessionTelemetry');
  private unsubscribe: (() => void) | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private liveSessions: number | undefined;
  private sampling = false;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SessionStore) private readonly store: SessionStore,
    private readonly telemetry: SessionTelemetry,
    private readonly events: SessionEvents,
    private readonly revocations: RevocationCache,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.telemetry.metricsEnabled) return;
    this.unsubscribe = this.events.subscribe((event) => this.count(event));
    this.telemetry.attach({
      revocationCacheSize: () => this.revocations.size,
      feedConnected: () => {
        const status = this.store.feedStatus?.();
        return status?.open ? status.connected : undefined;
      },
      liveSessions: () => this.liveSessions,
    });
    const intervalMs = this.options.telemetry.liveSessionsSampleIntervalMs;
    if (intervalMs === 0 || typeof this.store.countLiveSessions !== 'function') return;
    void this.sample();
    this.sampler = setInterval(() => void this.sample(), intervalMs);
    this.sampler.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.sampler);
    this.unsubscribe?.();
    this.telemetry.detach();
  }

  private count(event: SessionEvent): void {
    switch (event.type) {
      case 'session.created':
        return this.telemetry.count(SessionMetric.Logins, { 'tessera.outcome': 'success' });
      case 'login.failed':
        return this.telemetry.count(SessionMetric.Logins, { 'tessera.outcome': 'failure' });
      case 'refresh_token.reused':
        this.telemetry.count(SessionMetric.ReuseDetections, {});
        return this.revoked('refresh_token_reused');
      case 'session.revoked':
        return this.revoked(event.reason);
      case 'session.evicted':
        return this.revoked('evicted');
      case 'session.reissued':
        return this.revoked('reissued');
      case 'csrf.refused':
        return this.telemetry.count(SessionMetric.CsrfRefusals, { 'tessera.csrf.check': label(event.reason) });
      default:
        return;
    }
  }

  private revoked(reason: string | undefined): void {
    this.telemetry.count(SessionMetric.Revocations, { 'tessera.revocation.reason': label(reason) });
  }

  private async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      this.liveSessions = await this.store.countLiveSessions?.(this.options.clock.now());
    } catch (error) {
      // The gauge keeps its last sample; the store's own metrics show the failure.
      this.logger.warn(`Could not count live sessions (${error instanceof Error ? error.name : typeof error})`);
    } finally {
      this.sampling = false;
    }
  }
}
