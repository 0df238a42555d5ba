import type { CleanupLock, RefreshRotation, RevocationFeedListener, RevocationFeedSubscription, RevocationReason, SessionFeedStatus, SessionGrants, SessionRecord, SessionRevocation, SessionStore } from '@tessera/session';
import { parseDuration } from '@tessera/session';
import type { Pool, QueryConfig } from 'pg';
import type { DataSource, Repository } from 'typeorm';
import type { SessionEntity } from '../entities/session.entity';
import { REVOCATION_CHANNEL, REVOCATION_TIME_CHANNEL, USER_CHANGED_CHANNEL } from '../migrations';
import { dataSourcePool } from './data-source-pool';
import { feedConnectionConfig } from './feed-connection';
import { boundedCall } from './postgres-outage';
import { PostgresRevocationFeed } from './postgres-revocation-feed';
import type { PostgresRevocationFeedOptions } from './postgres-revocation-feed';
import { COLUMN_NAMES, columnValues, detached, recordsById, toRecord } from './session-row';
import type { SessionRow } from './session-row';
import {
  CLEANUP_LOCK_KEY,
  quotedTable,
  RELEASE_CLEANUP_LOCK,
  sessionStatements,
  TRY_CLEANUP_LOCK,
  updateUserSessionsParameters,
} from './session.statements';
import type { SessionStatements, Statement } from './session.statements';
import { TurnBatcher } from './turn-batcher';
import type { BatchEntry } from './turn-batcher';
import { reissueParameters, revokeUserSessions } from './user-revocations';

/** Options of `PostgresSessionStore`. */
export interface PostgresSessionStoreOptions {
  /**
   * The pg pool the store's statements and its revocation feed's settings come from. It
   * must reach the data source's database: the cleanup lock and `revokeByUser` run on
   * the data source's own connections. Default: the data source's own pool.
   */
  pool?: Pool;
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
  /**
   * Longest wait for one store call (the pool checkout included) before it fails with
   * `SessionStoreUnavailableError`, which the core answers with `503 store_unavailable`:
   * a stuck database cannot hold requests forever. The statement itself gets the same
   * `query_timeout`, so pg discards a connection that stopped answering. Outages
   * (connection refused or lost, server shutting down, too many connections, a statement
   * timeout) fail with the same error at once; bugs and constraint errors stay as they are.
   * Default: `'2s'`.
   */
  commandTimeout?: string | number;
}

/** Messages of the store's configuration errors. */
export const POSTGRES_STORE_ERROR_MESSAGES = {
  badDuration: (option: string, value: unknown) =>
    `PostgresSessionStore option "${option}" must be a positive duration such as 500ms, 2s or 1m (got ${JSON.stringify(value)}).`,
};

/**
 * Longest user id `updateUserSessions` accepts, in UTF-8 bytes: the id is the payload of
 * its NOTIFY, which PostgreSQL caps below 8000 bytes. Refused up front with a message
 * that says so (PostgreSQL would roll the call back anyway, with "payload string too
 * long"); never truncated or hashed, since listeners need the id itself. Session ids are
 * far shorter, so the revocation channel has no such limit to check.
 */
export const MAX_NOTIFIED_USER_ID_BYTES = 7_999;

/** SQLSTATEs after which a batch is rolled back as a whole and worth running row by row. */
const RETRY_ALONE = new Set(['40P01', '40001']);

const byKey = (a: BatchEntry<unknown>, b: BatchEntry<unknown>) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const keyOf = (entry: BatchEntry<unknown>) => entry.key;

/**
 * `SessionStore` on PostgreSQL, in the table of the TypeORM entity `SessionEntity`. Every
 * operation but `revokeByUser` (a short transaction) is one SQL statement, one round trip
 * (refreshes and lookups that arrive together share theirs); rotation is a conditional
 * `UPDATE ... RETURNING`, which PostgreSQL runs atomically per row (a concurrent loser
 * re-checks the hash and matches nothing).
 */
export class PostgresSessionStore implements SessionStore {
  private readonly dataSource: DataSource;
  private readonly table: string;
  private readonly statements: SessionStatements;
  /** `commandTimeout`, in ms. */
  private readonly timeoutMs: number;
  /** The explicit pool, else the data source's, taken at the first statement. */
  private pool: Pool | undefined;
  private feed: PostgresRevocationFeed | undefined;

  private readonly lookups = new TurnBatcher<string, SessionRecord>({
    sameKey: 'share',
    run: (batch) => this.lookUp(batch.map(keyOf)),
    copy: detached,
  });

  private readonly rotations = new TurnBatcher<RefreshRotation, SessionRecord>({
    sameKey: 'queue',
    run: (batch) => this.rotate(batch),
    // A deadlock (with a concurrent multi-row update of the same sessions, such as a
    // revocation of all of a user's sessions) rolled back the whole statement; each
    // rotation of the batch is tried again alone.
    retryAlone: (error) => RETRY_ALONE.has((error as { code?: string }).code ?? ''),
  });

  constructor(
    private readonly repository: Repository<SessionEntity>,
    private readonly storeOptions: PostgresSessionStoreOptions = {},
  ) {
    const { schema, tableName } = repository.metadata;
    this.dataSource = repository.manager.connection;
    this.table = quotedTable(schema, tableName);
    this.statements = sessionStatements(this.table);
    const timeout = storeOptions.commandTimeout ?? '2s';
    const timeoutMs = parseDuration(timeout);
    if (timeoutMs === undefined) throw new Error(POSTGRES_STORE_ERROR_MESSAGES.badDuration('commandTimeout', timeout));
    this.timeoutMs = timeoutMs;
  }

  /**
   * One statement on the pg pool. Going through `manager.query` would build a TypeORM
   * QueryRunner per call, which costs more than the query itself on the hot paths (a
   * refresh, a strict-mode check); the connection stays the app's.
   */
  private query<Row>(sql: string | Statement, parameters: unknown[], operation: string): Promise<{ rows: Row[]; count: number }> {
    return boundedCall(operation, this.timeoutMs, () => this.send<Row>(sql, parameters));
  }

  private async send<Row>(sql: string | Statement, parameters: unknown[]): Promise<{ rows: Row[]; count: number }> {
    this.pool ??= this.storeOptions.pool ?? dataSourcePool(this.dataSource);
    const text = typeof sql === 'string' ? sql : sql.text;
    if (this.pool) {
      const name = typeof sql !== 'string' && this.storeOptions.preparedStatements !== false ? sql.name : undefined;
      // query_timeout (read by pg's Client.query, missing from its types): pg fails the call
      // and pg-pool discards the connection, which may be stuck.
      const config: QueryConfig & { query_timeout: number } = { text, values: parameters, query_timeout: this.timeoutMs };
      if (name) config.name = name;
      const result = await this.pool.query(config);
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
    await this.query(this.statements.create, columnValues(session), 'create');
  }

  /** One statement under the user's advisory lock; see `reissueStatement`. */
  async reissue(oldId: string, successor: SessionRecord, reason: RevocationReason, at: Date): Promise<boolean> {
    const { count } = await this.query(
      this.statements.reissue,
      reissueParameters(oldId, reason, at, COLUMN_NAMES, columnValues(successor)),
      'reissue',
    );
    return count > 0;
  }

  findById(id: string): Promise<SessionRecord | null> {
    if (this.storeOptions.batchLookups === false) return this.lookUp([id]).then((found) => found.get(id) ?? null);
    return this.lookups.add(id, id);
  }

  private async lookUp(ids: string[]): Promise<Map<string, SessionRecord>> {
    const { rows } = await this.query<SessionRow>(this.statements.find, [ids], 'findById');
    return recordsById(rows);
  }

  rotateRefresh(id: string, rotation: RefreshRotation): Promise<SessionRecord | null> {
    if (this.storeOptions.batchRotations === false) {
      return this.rotate([{ key: id, item: rotation }]).then((rotated) => rotated.get(id) ?? null);
    }
    return this.rotations.add(id, rotation);
  }

  /** Rotates these sessions (distinct ids) in one statement; returns the rotated records by id. */
  private async rotate(batch: ReadonlyArray<BatchEntry<RefreshRotation>>): Promise<Map<string, SessionRecord>> {
    // Sorted by id. The batcher never puts one session in two batches at once, but
    // another instance may: taking row locks in one order (PostgreSQL joins the unnest
    // rows to the primary key in input order) keeps such batches from deadlocking. What
    // is left (a deadlock with another multi-row update) is retried row by row.
    const sorted = batch.length > 1 ? [...batch].sort(byKey) : batch;
    const { rows } = await this.query<SessionRow>(this.statements.rotate, [
      sorted.map(keyOf),
      sorted.map((entry) => entry.item.expectedRefreshHash),
      sorted.map((entry) => entry.item.refreshHash),
      sorted.map((entry) => entry.item.now),
      sorted.map((entry) => entry.item.expiresAt),
    ], 'rotateRefresh');
    return recordsById(rows);
  }

  async touch(id: string, at: Date, expiresAt: Date): Promise<boolean> {
    const { count } = await this.query(this.statements.touch, [id, at, expiresAt], 'touch');
    return count > 0;
  }

  async markAuthenticated(id: string, at: Date): Promise<SessionRecord | null> {
    const { rows } = await this.query<SessionRow>(this.statements.markAuthenticated, [id, at], 'markAuthenticated');
    return rows.length > 0 ? toRecord(rows[0]) : null;
  }

  async revoke(id: string, reason: RevocationReason, at: Date): Promise<boolean> {
    const { count } = await this.query(this.statements.revoke, [id, at, reason], 'revoke');
    return count > 0;
  }

  async listByUser(userId: string, now: Date): Promise<SessionRecord[]> {
    const { rows } = await this.query<SessionRow>(this.statements.listByUser, [userId, now], 'listByUser');
    return rows.map(toRecord);
  }

  async listRevokedSince(since: Date): Promise<SessionRevocation[]> {
    const { rows } = await this.query<{ id: string; revoked_at: Date }>(this.statements.listRevokedSince, [since], 'listRevokedSince');
    return rows.map((row) => ({ sessionId: row.id, revokedAt: row.revoked_at }));
  }

  /**
   * Live sessions at `now`, for the `tessera.sessions.live` gauge (sampled once per
   * `telemetry.liveSessionsSampleInterval`, not per scrape): one count over the
   * `expires_at` index, so its cost grows with the live sessions, not with the expired ones.
   */
  async countLiveSessions(now: Date): Promise<number> {
    const { rows } = await this.query<{ live: number }>(this.statements.countLive, [now], 'countLiveSessions');
    return rows[0]?.live ?? 0;
  }

  /** One short statement per batch that never waits on a row in use; see `sessionStatements`. */
  async deleteExpired(cutoff: Date, limit: number): Promise<number> {
    const { count } = await this.query(this.statements.deleteExpired, [cutoff, limit], 'deleteExpired');
    return count;
  }

  /**
   * `pg_try_advisory_lock` on a connection held for the run: the lock is released
   * explicitly, or by PostgreSQL if the connection dies with the instance.
   */
  async acquireCleanupLock(): Promise<CleanupLock | null> {
    const attempt = this.tryCleanupLock();
    try {
      return await boundedCall('acquireCleanupLock', this.timeoutMs, () => attempt);
    } catch (error) {
      // Past the timeout the caller has given up: a lock taken later is given back at once
      // rather than held by nobody until the connection dies.
      void attempt.then((lock) => lock?.release()).catch(() => undefined);
      throw error;
    }
  }

  private async tryCleanupLock(): Promise<CleanupLock | null> {
    const runner = this.dataSource.createQueryRunner();
    await runner.connect();
    let locked = false;
    try {
      const rows: Array<{ locked: boolean }> = await runner.query(TRY_CLEANUP_LOCK, [CLEANUP_LOCK_KEY]);
      locked = rows[0]?.locked === true;
    } finally {
      if (!locked) await runner.release();
    }
    if (!locked) return null;
    return {
      release: async () => {
        try {
          await runner.query(RELEASE_CLEANUP_LOCK, [CLEANUP_LOCK_KEY]);
        } finally {
          await runner.release();
        }
      },
    };
  }

  /**
   * LISTENs on its own connection, with the settings of the store's pool (`extra` and
   * `replication.master` included; see `feedConnectionConfig`), to the channel the
   * revocation trigger notifies and to the one `updateUserSessions` notifies; see
   * `PostgresRevocationFeed`.
   */
  async watchRevocations(listener: RevocationFeedListener): Promise<RevocationFeedSubscription> {
    const connection = feedConnectionConfig(this.storeOptions.pool ?? dataSourcePool(this.dataSource));
    const feed = await new PostgresRevocationFeed(
      connection,
      REVOCATION_CHANNEL,
      listener,
      this.storeOptions.feed,
      USER_CHANGED_CHANNEL,
      REVOCATION_TIME_CHANNEL,
    ).start();
    this.feed = feed;
    return feed;
  }

  /** One `SELECT 1` on the store's pool, bounded by `commandTimeout` (health checks). */
  async ping(): Promise<void> {
    await this.query('SELECT 1', [], 'ping');
  }

  /**
   * The revocation feed this store opened last (`RevocationCache` opens one per app), for
   * health checks: `open` is false when none was opened or it was closed.
   */
  feedStatus(): SessionFeedStatus {
    const feed = this.feed;
    if (!feed || feed.isClosed) return { open: false, connected: false, lastActivityAt: null };
    return { open: true, connected: feed.connected, lastActivityAt: feed.lastActivityAt };
  }

  /**
   * One call of the function `tessera_update_user_sessions` (one round trip): it takes
   * the user's advisory lock, updates the live sessions on a snapshot taken after the
   * lock, and notifies `USER_CHANGED_CHANNEL`, in one transaction.
   */
  async updateUserSessions(userId: string, grants: SessionGrants, at: Date): Promise<number> {
    if (Buffer.byteLength(userId, 'utf8') > MAX_NOTIFIED_USER_ID_BYTES) {
      throw new Error(
        `updateUserSessions: the user id is longer than ${MAX_NOTIFIED_USER_ID_BYTES} bytes (UTF-8), ` +
          'more than a PostgreSQL NOTIFY payload may carry; use shorter user ids.',
      );
    }
    const { rows } = await this.query<{ updated: number }>(
      this.statements.updateUserSessions,
      updateUserSessionsParameters(this.table, userId, grants.roles, grants.claims, at),
      'updateUserSessions',
    );
    return rows[0]?.updated ?? 0;
  }

  /** A short transaction under the user's advisory lock; see `revokeUserSessions`. */
  revokeByUser(userId: string, reason: RevocationReason, at: Date, exceptId?: string): Promise<string[]> {
    return boundedCall('revokeByUser', this.timeoutMs, () => revokeUserSessions(this.dataSource, this.table, userId, reason, at, exceptId));
  }
}

/** @deprecated use `PostgresSessionStore` (the same class, under its former name). */
export const TypeOrmSessionStore = PostgresSessionStore;
/** @deprecated use `PostgresSessionStore` (the same class, under its former name). */
export type TypeOrmSessionStore = PostgresSessionStore;
/** @deprecated use `PostgresSessionStoreOptions`. */
export type TypeOrmSessionStoreOptions = PostgresSessionStoreOptions;
