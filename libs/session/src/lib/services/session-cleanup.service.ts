import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { SchedulerRegistry } from '@nestjs/schedule';
import { CronJob } from 'cron';
import { SessionStore } from '../interfaces/session-store.interface';
import { RESOLVED_SESSION_OPTIONS } from '../options/session-options';
import type { ResolvedSessionOptions } from '../options/session-options';

/** What one cleanup run did. */
export interface CleanupResult {
  /** False when another instance held the cluster-wide lock, so this one did nothing. */
  ran: boolean;
  deleted: number;
  batches: number;
  durationMs: number;
  /** True when the run stopped at `maxRunTime` with work left for the next run. */
  truncated: boolean;
}

/** Name of the cron job in the app's `SchedulerRegistry`. */
export const SESSION_CLEANUP_JOB = 'tessera-session-cleanup';

/**
 * Deletes sessions that expired or were revoked longer ago than `cleanup.retention`,
 * in batches of one short statement each, under a cluster-wide lock so that only one
 * instance works at a time. Scheduled through the app's `SchedulerRegistry` (the app
 * imports `ScheduleModule.forRoot()`; the library never does). A failing run is logged
 * and never crashes the app.
 */
@Injectable()
export class SessionCleanupService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SessionCleanup');
  private job: CronJob | undefined;
  private running: Promise<CleanupResult> | undefined;
  private scheduler: SchedulerRegistry | undefined;

  constructor(
    @Inject(RESOLVED_SESSION_OPTIONS) private readonly options: ResolvedSessionOptions,
    @Inject(SessionStore) private readonly store: SessionStore,
    private readonly moduleRef: ModuleRef,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { cron } = this.options.cleanup;
    if (cron === false) return;
    this.scheduler = await this.appScheduler();
    if (!this.scheduler) {
      this.logger.warn(
        'Session cleanup is not scheduled: import ScheduleModule.forRoot() in your app, or set cleanup.cron: false.',
      );
      return;
    }
    this.job = CronJob.from({ cronTime: cron, onTick: () => void this.runScheduled(), start: true });
    this.scheduler.addCronJob(SESSION_CLEANUP_JOB, this.job);
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.job) {
      await this.job.stop();
      if (this.scheduler?.doesExist('cron', SESSION_CLEANUP_JOB)) this.scheduler.deleteCronJob(SESSION_CLEANUP_JOB);
    }
    await this.running?.catch(() => undefined);
  }

  /**
   * The app's `SchedulerRegistry`, or undefined when the app has no `ScheduleModule`.
   * `@nestjs/schedule` is an optional peer: it is loaded here, when scheduling, so that
   * an app without it (cleanup.cron: false, or its own scheduler) never needs it installed.
   */
  private async appScheduler(): Promise<SchedulerRegistry | undefined> {
    let registry: typeof SchedulerRegistry;
    try {
      ({ SchedulerRegistry: registry } = await import('@nestjs/schedule'));
    } catch {
      return undefined;
    }
    try {
      return this.moduleRef.get(registry, { strict: false });
    } catch {
      return undefined; // installed, but the app did not import ScheduleModule.forRoot()
    }
  }

  /** Runs the cleanup now (on demand); resolves with what it did. */
  run(): Promise<CleanupResult> {
    this.running ??= this.cleanup().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async runScheduled(): Promise<void> {
    try {
      await this.run();
    } catch (error) {
      this.logger.error(`Session cleanup failed (${error instanceof Error ? error.name : typeof error})`);
    }
  }

  private async cleanup(): Promise<CleanupResult> {
    const started = Date.now();
    const lock = await this.store.acquireCleanupLock();
    if (!lock) {
      this.logger.log('Session cleanup skipped: another instance holds the lock');
      return { ran: false, deleted: 0, batches: 0, durationMs: Date.now() - started, truncated: false };
    }
    const { retentionMs, batchSize, maxRunTimeMs } = this.options.cleanup;
    const cutoff = new Date(this.options.clock.now().getTime() - retentionMs);
    let deleted = 0;
    let batches = 0;
    let truncated = false;
    try {
      for (;;) {
        const count = await this.store.deleteExpired(cutoff, batchSize);
        deleted += count;
        batches += 1;
        if (count < batchSize) break;
        if (Date.now() - started >= maxRunTimeMs) {
          truncated = true;
          break;
        }
      }
    } finally {
      await lock.release();
    }
    const durationMs = Date.now() - started;
    this.logger.log(
      `Session cleanup deleted ${deleted} sessions in ${durationMs} ms (${batches} batches${truncated ? ', stopped at maxRunTime' : ''})`,
    );
    return { ran: true, deleted, batches, durationMs, truncated };
  }
}
