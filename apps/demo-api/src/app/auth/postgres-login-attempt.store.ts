import { Inject, Injectable, Logger } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { InjectDataSource } from '@nestjs/typeorm';
import { SessionClock, SessionStoreUnavailableError } from '@tessera/session';
import { CronJob } from 'cron';
import type { DataSource, QueryRunner } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { isPostgresOutage } from '../database/postgres-outage';
import { admits, expiryOf, liveWindow, settled, withReservation } from './attempt-window';
import type { AttemptWindow } from './attempt-window';
import { LoginAttemptStore } from './login-attempt.store';
import type { AttemptClaim, AttemptReservation, AttemptSettlement } from './login-attempt.store';

/** Name of the pruning job in the app's `SchedulerRegistry`. */
export const LOGIN_ATTEMPT_PRUNING_JOB = 'demo-login-attempt-pruning';
/** The library's default CLEANUP_CRON, which this job follows. */
const DEFAULT_CRON = '*/10 * * * *';
const PRUNE_BATCH = 5_000;
/** A row deleted between our insert and our lock (pruned as it ended) is inserted again; more than this many times is a bug. */
const LOCK_ATTEMPTS = 3;

interface AttemptRow {
  key: string;
  failures: number;
  in_flight: number;
  started_at: Date;
  last_failure_at: Date | null;
  reserved_at: Date | null;
}

function windowOf(row: AttemptRow): AttemptWindow {
  return {
    failures: row.failures,
    inFlight: row.in_flight,
    startedAt: row.started_at.getTime(),
    lastFailureAt: row.last_failure_at?.getTime() ?? 0,
    reservedAt: row.reserved_at?.getTime() ?? 0,
  };
}

/** A row's key: the account's group, then the key within it. */
function rowKey(group: string, key: string): string {
  return `${group}:${key}`;
}

/**
 * `LoginAttemptStore` in PostgreSQL (`login_attempts`), used when the sessions are there.
 * Each call is one short transaction that locks its rows (in key order, so two calls never
 * deadlock), reads their windows, and writes what `attempt-window.ts` decides: atomic
 * across instances. Ended rows are deleted by a job on CLEANUP_CRON (and `npm run cleanup`).
 */
@Injectable()
export class PostgresLoginAttemptStore extends LoginAttemptStore implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('LoginAttempts');
  private job: CronJob | undefined;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(SessionClock) private readonly clock: SessionClock,
    private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
  ) {
    super();
  }

  async reserve(group: string, claims: AttemptClaim[], now: number, windowMs: number): Promise<AttemptReservation> {
    return this.inTransaction<AttemptReservation>(async (runner) => {
      const keys = claims.map((claim) => rowKey(group, claim.key));
      const stored = await this.lock(runner, keys, now, windowMs);
      const windows = keys.map((key) => liveWindow(stored.get(key), now, windowMs));
      const admitted = claims.every((claim, i) => admits(windows[i], claim.rule, now));
      if (!admitted) return { result: { admitted, windows }, commit: false };
      for (const [i, key] of keys.entries()) await this.write(runner, key, withReservation(windows[i], now), windowMs);
      return { result: { admitted, windows }, commit: true };
    });
  }

  async settle(group: string, settlements: AttemptSettlement[], now: number, windowMs: number): Promise<void> {
    await this.inTransaction(async (runner) => {
      const keys = settlements.map((settlement) => rowKey(group, settlement.key));
      const stored = await this.lock(runner, keys, now, windowMs);
      for (const [i, key] of keys.entries()) {
        await this.write(runner, key, settled(liveWindow(stored.get(key), now, windowMs), settlements[i].outcome, now), windowMs);
      }
      return { result: undefined, commit: true };
    });
  }

  /** Deletes the rows whose windows ended (in batches); returns how many. */
  async prune(now: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      // SKIP LOCKED: a row some call holds is in use; the next run gets it if it is still old.
      const [, count] = (await this.dataSource.query(
        `DELETE FROM login_attempts WHERE key IN (
           SELECT key FROM login_attempts WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [new Date(now), PRUNE_BATCH],
      )) as [unknown, number];
      deleted += count;
      if (count < PRUNE_BATCH) return deleted;
    }
  }

  onApplicationBootstrap(): void {
    const cron = this.config.session.cleanup?.cron;
    if (cron === false) return;
    this.job = CronJob.from({ cronTime: cron ?? DEFAULT_CRON, onTick: () => void this.runScheduled(), start: true });
    this.scheduler.addCronJob(LOGIN_ATTEMPT_PRUNING_JOB, this.job);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.job) return;
    await this.job.stop();
    if (this.scheduler.doesExist('cron', LOGIN_ATTEMPT_PRUNING_JOB)) this.scheduler.deleteCronJob(LOGIN_ATTEMPT_PRUNING_JOB);
    this.job = undefined;
  }

  private async runScheduled(): Promise<void> {
    try {
      const deleted = await this.prune(this.clock.now().getTime());
      if (deleted > 0) this.logger.log(`Deleted ${deleted} ended login-attempt windows`);
    } catch (error) {
      // A job never crashes the app; the next tick tries again.
      this.logger.warn(`Login-attempt pruning failed (${error instanceof Error ? error.name : typeof error})`);
    }
  }

  /**
   * Locks the rows of `keys`, inserting the missing ones first (a fresh window, so that two
   * calls on a new key serialise on its row too); returns the stored windows by key.
   */
  private async lock(runner: QueryRunner, keys: string[], now: number, windowMs: number): Promise<Map<string, AttemptWindow>> {
    const sorted = [...new Set(keys)].sort();
    for (let attempt = 1; ; attempt += 1) {
      await runner.query(
        `INSERT INTO login_attempts (key, started_at, expires_at)
         SELECT key, $2, $3 FROM unnest($1::text[]) AS key ORDER BY key
         ON CONFLICT (key) DO NOTHING`,
        [sorted, new Date(now), new Date(now + windowMs)],
      );
      const rows = (await runner.query(
        `SELECT key, failures, in_flight, started_at, last_failure_at, reserved_at
           FROM login_attempts WHERE key = ANY($1) ORDER BY key FOR UPDATE`,
        [sorted],
      )) as AttemptRow[];
      if (rows.length === sorted.length) return new Map(rows.map((row) => [row.key, windowOf(row)]));
      if (attempt >= LOCK_ATTEMPTS) throw new Error('login_attempts rows vanished while being locked');
    }
  }

  private async write(runner: QueryRunner, key: string, window: AttemptWindow | undefined, windowMs: number): Promise<void> {
    if (!window) {
      await runner.query('DELETE FROM login_attempts WHERE key = $1', [key]);
      return;
    }
    const time = (ms: number) => (ms > 0 ? new Date(ms) : null);
    await runner.query(
      `UPDATE login_attempts SET failures = $2, in_flight = $3, started_at = $4, last_failure_at = $5, reserved_at = $6, expires_at = $7
        WHERE key = $1`,
      [key, window.failures, window.inFlight, new Date(window.startedAt), time(window.lastFailureAt), time(window.reservedAt), new Date(expiryOf(window, windowMs))],
    );
  }

  /** Runs `work` in a transaction on a connection of its own, committed or rolled back as it says. */
  private async inTransaction<T>(work: (runner: QueryRunner) => Promise<{ result: T; commit: boolean }>): Promise<T> {
    const runner = this.dataSource.createQueryRunner();
    try {
      try {
        await runner.connect();
      } catch (error) {
        // No connection to be had (refused, timed out, not accepting connections): an outage whatever the error says.
        throw new SessionStoreUnavailableError('PostgreSQL cannot be reached (login attempts)', { cause: error });
      }
      await runner.startTransaction();
      const { result, commit } = await work(runner);
      if (commit) await runner.commitTransaction();
      else await runner.rollbackTransaction();
      return result;
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      if (isPostgresOutage(error)) throw new SessionStoreUnavailableError('PostgreSQL cannot be reached (login attempts)', { cause: error });
      throw error;
    } finally {
      await runner.release();
    }
  }
}
