import { Injectable, Logger } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import { SessionEvents, SessionView } from '@tessera/session';
import type { DataSource } from 'typeorm';
import { AuditTrailService } from '../audit/audit-trail.service';

/** One item of the demo's session lists: the library's `SessionView`, and when its context last changed. */
export class SessionListItem extends SessionView {
  /**
   * When a refresh of this session last came from another IP address or user agent than
   * the one recorded at login (`session.context_changed` in `auth_events`), ISO 8601; null if never.
   */
  contextChangedAt: string | null;
}

let documented = false;

/**
 * Documents `SessionListItem` for OpenAPI, once, after the library documented `SessionView`
 * (its `SessionRoutesModule` does so when the app is created): swagger copies the parent's
 * properties when a subclass property is decorated, so decorating at class definition
 * would lose them. `createApp` calls it before building the document.
 */
export function documentSessionListItem(): void {
  if (documented) return;
  documented = true;
  ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description:
      'When a refresh last came from another IP address or user agent than the one recorded at login (`session.context_changed`); null if never',
  })(SessionListItem.prototype, 'contextChangedAt');
}

/**
 * Adds `contextChangedAt` to session list items, from the demo's audit trail (rows of
 * `auth_events`, and events not yet written). The audit trail is the demo's record of
 * what happened; the library stores nothing for it. Best effort: while PostgreSQL does not
 * answer (Redis sessions keep working), the list is served with what the buffer knows.
 */
@Injectable()
export class SessionListService {
  private readonly logger = new Logger('SessionList');

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditTrailService,
    private readonly events: SessionEvents,
  ) {}

  async withContextChanges(userId: string, views: SessionView[]): Promise<SessionListItem[]> {
    if (views.length === 0) return [];
    const fingerprints = new Map(views.map((view) => [this.events.fingerprint(view.id), view.id]));
    const latest = new Map<string, string>();
    const note = (fingerprint: string | null, at: string) => {
      const id = fingerprint === null ? undefined : fingerprints.get(fingerprint);
      if (id !== undefined && (latest.get(id) ?? '') < at) latest.set(id, at);
    };
    // A session's events are no older than its login: the (user_id, created_at) index bounds the read.
    const since = views.reduce((oldest, view) => (view.createdAt < oldest ? view.createdAt : oldest), views[0].createdAt);
    try {
      const rows = (await this.dataSource.query(
        `SELECT session_fingerprint, max(created_at) AS at FROM auth_events
          WHERE user_id = $1 AND created_at >= $2 AND type = 'session.context_changed' AND session_fingerprint = ANY($3)
          GROUP BY session_fingerprint`,
        [userId, since, [...fingerprints.keys()]],
      )) as Array<{ session_fingerprint: string; at: Date }>;
      for (const row of rows) note(row.session_fingerprint, new Date(row.at).toISOString());
    } catch (error) {
      this.logger.warn(`Context changes not read (${error instanceof Error ? error.name : typeof error}); the list goes without them`);
    }
    for (const record of this.audit.pending('session.context_changed')) note(record.sessionFingerprint, record.at);
    return views.map((view) => ({ ...view, contextChangedAt: latest.get(view.id) ?? null }));
  }
}
