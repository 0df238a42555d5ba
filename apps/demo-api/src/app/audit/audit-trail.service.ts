import { Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SessionEvents } from '@tessera/session';
import type { SessionEvent } from '@tessera/session';
import type { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { isPostgresOutage } from '../database/postgres-outage';

/** One row of `auth_events`, and one line of the audit log. */
export interface AuditRecord {
  type: string;
  outcome: 'success' | 'failure';
  userId: string | null;
  sessionFingerprint: string | null;
  reason: string | null;
  ip: string | null;
  userAgent: string | null;
  at: string;
}

/** For `session.context_changed`, what changed ("ip", "user_agent" or "ip,user_agent"), as the row's reason. */
function contextChangeOf(event: SessionEvent): string | null {
  if (event.type !== 'session.context_changed') return null;
  return [event.ipChanged ? 'ip' : '', event.userAgentChanged ? 'user_agent' : ''].filter(Boolean).join(',') || null;
}

const FAILURES = new Set(['login.failed', 'refresh_token.reused', 'csrf.refused']);
const FLUSH_EVERY_MS = 250;
const FLUSH_AT = 200;
/** Rows a single INSERT carries (PostgreSQL allows 65535 parameters per statement). */
const MAX_BATCH = 1_000;
const MAX_BUFFER = 10_000;
const COLUMNS = 8;
/** Waits between writes while the database is unreachable: from the first, doubling to the last. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

/** What the audit trail holds and has lost, for tests and operators. */
export interface AuditTrailStats {
  /** Events waiting to be written. */
  buffered: number;
  /** Events dropped because the buffer was full while the database was unreachable (their log lines were written). */
  dropped: number;
  /** Events whose write failed for another reason than an outage (a bug): not retried, counted. */
  failed: number;
  /** Whether the last write found the database unreachable (writes are being retried). */
  waitingForDatabase: boolean;
}

/**
 * The demo's audit trail: every session event becomes a JSON line in the log (context
 * `Audit`) and a row of `auth_events`. Rows are written in batches, off the request path
 * (a refresh stays one database round trip). Events carry a session fingerprint, never
 * a raw session id, token, password or secret.
 *
 * While the database is unreachable, rows stay in a bounded buffer (`bufferLimit`) and are
 * written after it returns, in order; when the buffer is full the oldest rows are dropped,
 * counted and logged by count (never contents: every event's log line was already
 * written), never silently lost.
 */
@Injectable()
export class AuditTrailService implements OnModuleInit, BeforeApplicationShutdown {
  /** Most events kept while the database is unreachable (tests lower it). Default: 10000. */
  bufferLimit = MAX_BUFFER;
  private readonly logger = new Logger('Audit');
  private buffer: AuditRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private dropped = 0;
  /** Dropped events not yet reported in a log line. */
  private droppedUnreported = 0;
  private failed = 0;
  private retryMs = 0;

  constructor(
    private readonly events: SessionEvents,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.events.subscribe((event) => this.record(event));
  }

  /** Writes what is buffered before the pools close; what cannot be written is counted in the log. */
  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
    // No retry after the pools close.
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length > 0) {
      this.logger.error(`${this.buffer.length} audit events could not be written before shutdown (database unreachable); their log lines were written`);
    }
  }

  /** Buffered records of one event type, not yet written (the session list reads them beside the table). */
  pending(type: string): readonly AuditRecord[] {
    return this.buffer.filter((record) => record.type === type);
  }

  /** What is buffered and what was lost. */
  stats(): AuditTrailStats {
    return { buffered: this.buffer.length, dropped: this.dropped, failed: this.failed, waitingForDatabase: this.retryMs > 0 };
  }

  /**
   * Writes buffered rows now (tests call it to read the table). Resolves either way: rows
   * the database could not take (an outage) are back in the buffer, retried later.
   */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flushing.then(() => this.writeBuffered());
    return this.flushing;
  }

  private async writeBuffered(): Promise<void> {
    while (this.buffer.length > 0) {
      const rows = this.buffer.splice(0, MAX_BATCH);
      const outcome = await this.insert(rows);
      if (outcome === 'outage') {
        // Back in front, in order; the buffer's bound still holds.
        this.buffer = rows.concat(this.buffer);
        this.trim();
        this.retryMs = Math.min(Math.max(this.retryMs * 2, RETRY_MIN_MS), RETRY_MAX_MS);
        this.schedule(this.retryMs);
        return;
      }
      if (outcome === 'failed') this.failed += rows.length;
    }
    if (this.retryMs > 0) {
      this.retryMs = 0;
      this.logger.log('Audit rows written again after the database returned');
    }
    this.reportDropped();
  }

  private record(event: SessionEvent): void {
    const record: AuditRecord = {
      type: event.type,
      outcome: FAILURES.has(event.type) ? 'failure' : 'success',
      userId: event.userId,
      sessionFingerprint: event.sessionFingerprint,
      reason: event.reason ?? contextChangeOf(event),
      ip: event.ip ?? null,
      userAgent: event.userAgent ?? null,
      at: event.at.toISOString(),
    };
    // JSON logs get the record as an object (one flat JSON line); text logs one line of JSON.
    this.logger.log(this.config.logFormat === 'json' ? record : JSON.stringify(record));
    if (event.type === 'session.context_changed') {
      // The same fields as the audit line (a fingerprint, never the session id), the devices in words.
      this.logger.warn(
        `Session ${event.sessionFingerprint} of user ${event.userId} refreshed from another ${record.reason}: ` +
          `${event.previousDevice ?? 'unknown'} → ${event.device ?? 'unknown'}`,
      );
    }
    this.buffer.push(record);
    this.trim();
    // While the database is unreachable, the retry timer writes (no write per event).
    if (this.retryMs > 0) return;
    if (this.buffer.length >= FLUSH_AT) void this.flush();
    else this.schedule(FLUSH_EVERY_MS);
  }

  /** Drops the oldest rows beyond `bufferLimit`, counting them. */
  private trim(): void {
    const excess = this.buffer.length - this.bufferLimit;
    if (excess <= 0) return;
    this.buffer.splice(0, excess);
    this.dropped += excess;
    // The first drop of a burst is reported at once; the rest when the writes resume.
    if (this.droppedUnreported === 0) this.logger.warn(`Audit buffer full (${this.bufferLimit} events): dropping the oldest rows (their log lines were written)`);
    this.droppedUnreported += excess;
  }

  private reportDropped(): void {
    if (this.droppedUnreported === 0) return;
    this.logger.warn(`${this.droppedUnreported} audit rows were dropped while the database was unreachable (${this.dropped} since start); their log lines were written`);
    this.droppedUnreported = 0;
  }

  private schedule(delayMs: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), delayMs);
    this.timer.unref();
  }

  private async insert(rows: AuditRecord[]): Promise<'written' | 'outage' | 'failed'> {
    const values = rows
      .map((_, row) => `(${Array.from({ length: COLUMNS }, (__, column) => `$${row * COLUMNS + column + 1}`).join(', ')})`)
      .join(', ');
    const parameters = rows.flatMap((row) => [
      row.type,
      row.outcome,
      row.userId,
      row.sessionFingerprint,
      row.reason,
      row.ip,
      row.userAgent,
      row.at,
    ]);
    try {
      await this.dataSource.query(
        `INSERT INTO auth_events (type, outcome, user_id, session_fingerprint, reason, ip, user_agent, created_at)
         VALUES ${values}`,
        parameters,
      );
      return 'written';
    } catch (error) {
      if (isPostgresOutage(error)) {
        if (this.retryMs === 0) this.logger.warn(`Could not write ${rows.length} audit rows: database unreachable; keeping them to retry`);
        return 'outage';
      }
      this.logger.error(`Could not write ${rows.length} audit rows (${error instanceof Error ? error.name : typeof error})`);
      return 'failed';
    }
  }
}
