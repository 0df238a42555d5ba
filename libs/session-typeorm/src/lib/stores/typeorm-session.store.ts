import type {
  CleanupLock,
  RefreshRotation,
  RevocationFeedListener,
  RevocationFeedSubscription,
  RevocationReason,
  SessionRecord,
  SessionRevocation,
  SessionStore,
} from '@tessera/session';
import { createHash } from 'node:crypto';
import type { Repository } from 'typeorm';
import type { SessionEntity } from '../entities/session.entity';
import { REVOCATION_CHANNEL } from '../migrations';
import { feedConnectionConfig } from './feed-connection';
import { PostgresRevocationFeed } from './postgres-revocation-feed';
import type { PostgresRevocationFeedOptions } from './postgres-revocation-feed';
import { reissueParameters, reissueStatement, revokeUserSessions } from './user-revocations';

/** Options of `TypeOrmSessionStore`. */
export interface TypeOrmSessionStoreOptions {
  /** Timing of the LISTEN connection behind `watchRevocations`. Defaults: see `PostgresRevocationFeedOptions`. */
  feed?: PostgresRevocationFeedOptions;
  /**
   * Runs the per-request statements (refresh rotation, session lookup, activity, revoke,
   * create) as named prepared statements, parsed and planned once per connection instead
   * of on every call. Turn it off behind a pooler that cannot carry prepared statements
   * across its server connections (PgBouncer in transaction mode before 1.21, or without
   * `max_prepared_statements`). Default: `true`.
   */
  preparedStatements?: boolean;
  /**
   * Refreshes that reach the store in the same turn of the event loop rotate in one
   * `UPDATE ... FROM unnest(...)` statement: one round trip and one commit for all of
   * them instead of one each. Each row is still its own compare-and-swap (a stale hash,
   * a revoked or expired session fails alone), two rotations of one session never share
   * a statement or run at once (the later one waits for the earlier), and a refresh that
   * arrives alone is a statement of its own. `false`: one statement per refresh, sent at
   * once. Default: `true`.
   */
  batchRotations?: boolean;
  /**
   * Session lookups (`strict` mode reads one per request) that reach the store in the
   * same turn of the event loop share one `SELECT ... WHERE id = ANY(...)`; callers
   * asking for the same session share the row (each gets its own copy). A lookup alone
   * is a statement of its own. `false`: one statement per lookup, sent at once.
   * Default: `true`.
   */
  batchLookups?: boolean;
}

interface SessionRow {
  id: string;
  user_id: string;
  roles: string[];
  refresh_hash: string;
  previous_refresh_hash: string | null;
  generation: number;
  rotated_at: Date | null;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
  absolute_expires_at: Date;
  revoked_at: Date | null;
  revoked_reason: string | null;
  user_agent: string | null;
  ip: string | null;
}

// pg_try_advisory_lock key naming "the Tessera session cleanup".
const CLEANUP_LOCK_KEY = 1_949_283_721;

// The real one, taken at load: a test that fakes timers afterwards (jest.useFakeTimers)
// must not leave every refresh waiting for a timer tick that never comes.
const runAfterIo = setImmediate;

/**
 * A function that runs `flush` once, after the current turn of the event loop has done
 * its I/O callbacks, however many times it is called in that turn.
 */
function onceAfterThisTurn(flush: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    runAfterIo(() => {
      scheduled = false;
      flush();
    });
  };
}

/** Most rotations or lookups one batched statement carries. */
const MAX_BATCH = 100;

/** SQLSTATEs after which a batch is rolled back as a whole and worth running row by row. */
const RETRY_ALONE = new Set(['40P01', '40001']);

/** A `findById` call waiting for its batch. */
interface PendingLookup {
  resolve(record: SessionRecord | null): void;
  reject(error: unknown): void;
}

/** A `rotateRefresh` call waiting for its batch. */
interface PendingRotation {
  id: string;
  rotation: RefreshRotation;
  resolve(record: SessionRecord | null): void;
  reject(error: unknown): void;
}

/** The part of pg's Pool this store uses. */
interface PgPool {
  query(config: { text: string; values: unknown[]; name?: string }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** A statement run often enough to be prepared once per connection. */
interface Statement {
  text: string;
  /** pg prepares it under this name; derived from the text, so one name never means two texts. */
  name: string;
}

function statement(kind: string, text: string): Statement {
  return { text, name: `tessera_${kind}_${createHash('sha256').update(text).digest('hex').slice(0, 12)}` };
}

const COLUMN_NAMES = [
  'id',
  'user_id',
  'roles',
  'refresh_hash',
  'previous_refresh_hash',
  'generation',
  'rotated_at',
  'created_at',
  'last_seen_at',
  'expires_at',
  'absolute_expires_at',
  'revoked_at',
  'revoked_reason',
  'user_agent',
  'ip',
] as const;
const COLUMNS = COLUMN_NAMES.join(', ');

function toRecord(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    roles: row.roles,
    refreshHash: row.refresh_hash,
    previousRefreshHash: row.previous_refresh_hash,
    generation: row.generation,
    rotatedAt: row.rotated_at,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    expiresAt: row.expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason as RevocationReason | null,
    userAgent: row.user_agent,
    ip: row.ip,
  };
}

/** A record's values in `COLUMN_NAMES` order. */
function columnValues(session: SessionRecord): unknown[] {
  return [
    session.id,
    session.userId,
    session.roles,
    session.refreshHash,
    session.previousRefreshHash,
    session.generation,
    session.rotatedAt,
    session.createdAt,
    session.lastSeenAt,
    session.expiresAt,
    session.absoluteExpiresAt,
    session.revokedAt,
    session.revokedReason,
    session.userAgent,
    session.ip,
  ];
}

const copyDate = (date: Date) => new Date(date.getTime());

/** A record sharing nothing mutable with `record`. */
function detached(record: SessionRecord): SessionRecord {
  return {
    ...record,
    roles: [...record.roles],
    rotatedAt: record.rotatedAt && copyDate(record.rotatedAt),
    createdAt: copyDate(record.createdAt),
    lastSeenAt: copyDate(record.lastSeenAt),
    expiresAt: copyDate(record.expiresAt),
    absoluteExpiresAt: copyDate(record.absoluteExpiresAt),
    revokedAt: record.revokedAt && copyDate(record.revokedAt),
  };
}

/**
 * `SessionStore` on PostgreSQL through TypeORM. Every operation but `revokeByUser` (a
 * short transaction) is one SQL statement, one round trip (refreshes and lookups that
 * arrive together share theirs); rotation is
 * a conditional `UPDATE ... RETURNING`, which PostgreSQL runs atomically per row (a
 * concurrent loser re-checks the hash and matches nothing).
 */
export class TypeOrmSessionStore implements SessionStore {
  private readonly table: string;
  private readonly reissueSql: string;

  private pool: PgPool | undefined;
  private readonly statements: Record<
    'create' | 'find' | 'rotate' | 'touch' | 'revoke',
    Statement
  >;

  /** Lookups waiting for the next batch, by session id. */
  private pendingLookups = new Map<string, PendingLookup[]>();
  private readonly scheduleLookups = onceAfterThisTurn(() => this.flushLookups());

  /** Rotations waiting for the next batch, in arrival order. */
  private pendingRotations: PendingRotation[] = [];
  private readonly scheduleRotations = onceAfterThisTurn(() => this.flushRotations());
  /** Sessions with a rotation in flight: a second rotation of one waits for the first. */
  private readonly rotating = new Set<string>();

  constructor(
    private readonly repository: Repository<SessionEntity>,
    private readonly storeOptions: TypeOrmSessionStoreOptions = {},
  ) {
    const { schema, tableName } = repository.metadata;
    const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
    this.table = schema ? `${quote(schema)}.${quote(tableName)}` : quote(tableName);
    this.reissueSql = reissueStatement(this.table, COLUMN_NAMES);
    this.statements = {
      create: statement(
        'create',
        `INSERT INTO ${this.table} (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      ),
      // One statement for one session or many: a lookup alone sends a one-element array.
      find: statement('find', `SELECT ${COLUMNS} FROM ${this.table} WHERE id = ANY($1::text[])`),
      // The compare-and-swap of a refresh, for one session or many at once: PostgreSQL
      // updates each matching row atomically, and rows whose condition fails are skipped.
      rotate: statement(
        'rotate',
        `UPDATE ${this.table} AS s
            SET previous_refresh_hash = s.refresh_hash,
                refresh_hash = r.refresh_hash,
                generation = s.generation + 1,
                rotated_at = r.now,
                last_seen_at = r.now,
                expires_at = LEAST(r.expires_at, s.absolute_expires_at)
           FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[])
                AS r(id, expected_refresh_hash, refresh_hash, now, expires_at)
          WHERE s.id = r.id AND s.refresh_hash = r.expected_refresh_hash
            AND s.revoked_at IS NULL AND s.expires_at > r.now
          RETURNING ${COLUMN_NAMES.map((column) => `s.${column}`).join(', ')}`,
      ),
      touch: statement(
        'touch',
        `UPDATE ${this.table}
            SET last_seen_at = GREATEST(last_seen_at, $2),
                expires_at = GREATEST(expires_at, LEAST($3::timestamptz, absolute_expires_at))
          WHERE id = $1 AND revoked_at IS NULL AND expires_at > $2`,
      ),
      revoke: statement(
        'revoke',
        `UPDATE ${this.table} SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL`,
      ),
    };
  }

  /**
   * One statement on the data source's own pg pool. Going through `manager.query` would
   * build a TypeORM QueryRunner per call, which costs more than the query itself on the
   * hot paths (a refresh, a strict-mode check); the connection stays the app's.
   */
  private async query<Row>(sql: string | Statement, parameters: unknown[]): Promise<{ rows: Row[]; count: number }> {
    this.pool ??= (this.repository.manager.connection.driver as unknown as { master?: PgPool }).master;
    const text = typeof sql === 'string' ? sql : sql.text;
    if (this.pool) {
      const name = typeof sql !== 'string' && this.storeOptions.preparedStatements !== false ? sql.name : undefined;
      const result = await this.pool.query(name ? { name, text, values: parameters } : { text, values: parameters });
      return { rows: result.rows as Row[], count: result.rowCount ?? 0 };
    }
    const raw: unknown = await this.repository.manager.query(text, parameters);
    if (Array.isArray(raw) && raw.length === 2 && Array.isArray(raw[0]) && typeof raw[1] === 'number') {
      return { rows: raw[0] as Row[], count: raw[1] };
    }
    const rows = raw as Row[];
    return { rows, count: rows.length };
  }

  async create(session: SessionRecord): Promise<void> {
    await this.query(this.statements.create, columnValues(session));
  }

  /** One statement under the user's advisory lock; see `reissueStatement`. */
  async reissue(oldId: string, successor: SessionRecord, reason: RevocationReason, at: Date): Promise<boolean> {
    const { count } = await this.query(this.reissueSql, [
      ...reissueParameters(oldId, reason, at),
      ...columnValues(successor),
    ]);
    return count > 0;
  }

  findById(id: string): Promise<SessionRecord | null> {
    if (this.storeOptions.batchLookups === false) return this.lookUp([id]).then((found) => found.get(id) ?? null);
    return new Promise((resolve, reject) => {
      const waiting = this.pendingLookups.get(id);
      if (waiting) waiting.push({ resolve, reject });
      else this.pendingLookups.set(id, [{ resolve, reject }]);
      this.scheduleLookups();
    });
  }

  private flushLookups(): void {
    const pending = this.pendingLookups;
    this.pendingLookups = new Map();
    const ids = [...pending.keys()];
    for (let start = 0; start < ids.length; start += MAX_BATCH) {
      void this.runLookups(ids.slice(start, start + MAX_BATCH), pending);
    }
  }

  private async runLookups(ids: string[], pending: Map<string, PendingLookup[]>): Promise<void> {
    let found: Map<string, SessionRecord>;
    try {
      found = await this.lookUp(ids);
    } catch (error) {
      for (const id of ids) for (const waiter of pending.get(id) ?? []) waiter.reject(error);
      return;
    }
    for (const id of ids) {
      const record = found.get(id) ?? null;
      // Callers of one session each get their own copy: none sees another's changes.
      (pending.get(id) ?? []).forEach((waiter, i) => waiter.resolve(record && i > 0 ? detached(record) : record));
    }
  }

  private async lookUp(ids: string[]): Promise<Map<string, SessionRecord>> {
    const { rows } = await this.query<SessionRow>(this.statements.find, [ids]);
    return new Map(rows.map((row) => [row.id, toRecord(row)]));
  }

  rotateRefresh(id: string, rotation: RefreshRotation): Promise<SessionRecord | null> {
    if (this.storeOptions.batchRotations === false) {
      return this.rotate([{ id, rotation }]).then((rotated) => rotated.get(id) ?? null);
    }
    return new Promise((resolve, reject) => {
      this.pendingRotations.push({ id, rotation, resolve, reject });
      this.scheduleRotations();
    });
  }

  private flushRotations(): void {
    const pending = this.pendingRotations;
    this.pendingRotations = [];
    let batch: PendingRotation[] = [];
    for (const item of pending) {
      // A session already rotating (in flight, or earlier in this batch) waits its turn:
      // its rotation must see the outcome of the one before it.
      if (this.rotating.has(item.id)) {
        this.pendingRotations.push(item);
        continue;
      }
      this.rotating.add(item.id);
      batch.push(item);
      if (batch.length === MAX_BATCH) {
        void this.runRotations(batch);
        batch = [];
      }
    }
    if (batch.length > 0) void this.runRotations(batch);
  }

  private async runRotations(batch: PendingRotation[]): Promise<void> {
    try {
      let rotated: Map<string, SessionRecord>;
      try {
        rotated = await this.rotate(batch);
      } catch (error) {
        // A deadlock (with a concurrent multi-row update of the same sessions, such as
        // a revocation of all of a user's sessions) rolled back the whole statement;
        // each rotation of a batch is tried again alone.
        if (batch.length === 1 || !RETRY_ALONE.has((error as { code?: string }).code ?? '')) throw error;
        await Promise.all(
          batch.map((item) =>
            this.rotate([item]).then((alone) => item.resolve(alone.get(item.id) ?? null), item.reject),
          ),
        );
        return;
      }
      for (const item of batch) item.resolve(rotated.get(item.id) ?? null);
    } catch (error) {
      for (const item of batch) item.reject(error);
    } finally {
      for (const item of batch) this.rotating.delete(item.id);
      if (this.pendingRotations.length > 0) this.scheduleRotations();
    }
  }

  /** Rotates these sessions (distinct ids) in one statement; returns the rotated records by id. */
  private async rotate(items: Array<{ id: string; rotation: RefreshRotation }>): Promise<Map<string, SessionRecord>> {
    // Sorted by id. This instance never puts one session in two batches at once, but
    // another instance may: taking row locks in one order (PostgreSQL joins the unnest
    // rows to the primary key in input order) keeps such batches from deadlocking. What
    // is left (a deadlock with another multi-row update) is retried row by row above.
    const sorted = items.length > 1 ? [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : items;
    const { rows } = await this.query<SessionRow>(this.statements.rotate, [
      sorted.map((item) => item.id),
      sorted.map((item) => item.rotation.expectedRefreshHash),
      sorted.map((item) => item.rotation.refreshHash),
      sorted.map((item) => item.rotation.now),
      sorted.map((item) => item.rotation.expiresAt),
    ]);
    return new Map(rows.map((row) => [row.id, toRecord(row)]));
  }

  async touch(id: string, at: Date, expiresAt: Date): Promise<boolean> {
    const { count } = await this.query(this.statements.touch, [id, at, expiresAt]);
    return count > 0;
  }

  async revoke(id: string, reason: RevocationReason, at: Date): Promise<boolean> {
    const { count } = await this.query(this.statements.revoke, [id, at, reason]);
    return count > 0;
  }
  async listByUser(userId: string, now: Date): Promise<SessionRecord[]> {
    const { rows } = await this.query<SessionRow>(
      `SELECT ${COLUMNS} FROM ${this.table}
        WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
        ORDER BY created_at, id`,
      [userId, now],
    );
    return rows.map(toRecord);
  }

  async listRevokedSince(since: Date): Promise<SessionRevocation[]> {
    const { rows } = await this.query<{ id: string; revoked_at: Date }>(
      `SELECT id, revoked_at FROM ${this.table} WHERE revoked_at >= $1`,
      [since],
    );
    return rows.map((row) => ({ sessionId: row.id, revokedAt: row.revoked_at }));
  }

  async deleteExpired(cutoff: Date, limit: number): Promise<number> {
    // One short statement per batch; SKIP LOCKED so it never waits on a row in use. Each
    // condition walks its own index in order and stops after `limit` rows, so a batch
    // costs the same however many expired rows remain: with `expires_at < $1 OR
    // revoked_at < $1` the planner, given fresh statistics of a table full of expired
    // rows, picks a bitmap OR that collects every match before the LIMIT (a million
    // expired rows: ~25k rows/s instead of >100k).
    const { count } = await this.query(
      `WITH expired AS (
         SELECT id FROM ${this.table} WHERE expires_at < $1
          ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), revoked AS (
         SELECT id FROM ${this.table} WHERE revoked_at < $1 AND expires_at >= $1
          ORDER BY revoked_at LIMIT $2 FOR UPDATE SKIP LOCKED
       )
       DELETE FROM ${this.table} WHERE id IN (
         SELECT id FROM expired UNION ALL SELECT id FROM revoked LIMIT $2)`,
      [cutoff, limit],
    );
    return count;
  }

  /**
   * `pg_try_advisory_lock` on a connection held for the run: the lock is released
   * explicitly, or by PostgreSQL if the connection dies with the instance.
   */
  async acquireCleanupLock(): Promise<CleanupLock | null> {
    const runner = this.repository.manager.connection.createQueryRunner();
    await runner.connect();
    let locked = false;
    try {
      const rows: Array<{ locked: boolean }> = await runner.query('SELECT pg_try_advisory_lock($1) AS locked', [
        CLEANUP_LOCK_KEY,
      ]);
      locked = rows[0]?.locked === true;
    } finally {
      if (!locked) await runner.release();
    }
    if (!locked) return null;
    return {
      release: async () => {
        try {
          await runner.query('SELECT pg_advisory_unlock($1)', [CLEANUP_LOCK_KEY]);
        } finally {
          await runner.release();
        }
      },
    };
  }

  /**
   * LISTENs on its own connection, with the settings of the data source's own pool
   * (`extra` and `replication.master` included; see `feedConnectionConfig`), to the
   * channel the revocation trigger notifies; see `PostgresRevocationFeed`.
   */
  watchRevocations(listener: RevocationFeedListener): Promise<RevocationFeedSubscription> {
    const connection = feedConnectionConfig(this.repository.manager.connection);
    return new PostgresRevocationFeed(connection, REVOCATION_CHANNEL, listener, this.storeOptions.feed).start();
  }

  /** A short transaction under the user's advisory lock; see `revokeUserSessions`. */
  revokeByUser(userId: string, reason: RevocationReason, at: Date, exceptId?: string): Promise<string[]> {
    return revokeUserSessions(this.repository.manager.connection, this.table, userId, reason, at, exceptId);
  }
}
