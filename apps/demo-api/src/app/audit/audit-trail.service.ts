import { Injectable, Logger } from '@nestjs/common';
import type { BeforeApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SessionEvents } from '@tessera/session';
import type { SessionEvent } from '@tessera/session';
import type { DataSource } from 'typeorm';
import { AppConfig } from '../config/app-config';

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

const FAILURES = new Set(['login.failed', 'refresh_token.reused', 'csrf.refused']);
const FLUSH_EVERY_MS = 250;
const FLUSH_AT = 200;
const MAX_BUFFER = 10_000;
const COLUMNS = 8;

/**
 * The demo's audit trail: every session event becomes a JSON line in the log (context
 * `Audit`) and a row of `auth_events`. Rows are written in batches, off the request path
 * (a refresh stays one database round trip). Events carry a session fingerprint, never
 * a raw session id, token, password or secret.
 */
@Injectable()
export class AuditTrailService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger('Audit');
  private buffer: AuditRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly events: SessionEvents,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.events.subscribe((event) => this.record(event));
  }

  /** Writes what is buffered before the pools close. */
  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
  }

  /** Writes buffered rows now (tests call it to read the table). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.buffer;
    this.buffer = [];
    this.flushing = this.flushing.then(() => (rows.length > 0 ? this.insert(rows) : undefined));
    return this.flushing;
  }

  private record(event: SessionEvent): void {
    const record: AuditRecord = {
      type: event.type,
      outcome: FAILURES.has(event.type) ? 'failure' : 'success',
      userId: event.userId,
      sessionFingerprint: event.sessionFingerprint,
      reason: event.reason ?? null,
      ip: event.ip ?? null,
      userAgent: event.userAgent ?? null,
      at: event.at.toISOString(),
    };
    // JSON logs get the record as an object (one flat JSON line); text logs one line of JSON.
    this.logger.log(this.config.logFormat === 'json' ? record : JSON.stringify(record));
    if (this.buffer.length >= MAX_BUFFER) {
      this.logger.warn('Audit buffer full; dropping the oldest row (the log line above is kept)');
      this.buffer.shift();
    }
    this.buffer.push(record);
    if (this.buffer.length >= FLUSH_AT) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_EVERY_MS);
      this.timer.unref();
    }
  }

  private async insert(rows: AuditRecord[]): Promise<void> {
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
    } catch (error) {
      this.logger.error(`Could not write ${rows.length} audit rows (${error instanceof Error ? error.name : typeof error})`);
    }
  }
}
