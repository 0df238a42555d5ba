import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { parseDuration } from '@tessera/session';
import type { CleanupLock, RefreshRotation, RevocationFeedListener, RevocationFeedSubscription, RevocationReason, SessionFeedStatus, SessionGrants, SessionRecord, SessionRevocation, SessionStore } from '@tessera/session';
import type { SessionRedisClient } from '../interfaces/session-redis-client.interface';
import { RedisKeys } from './redis-keys';
import { ms, recordFields, recordOf } from './redis-session-record';
import * as scripts from './redis-session.scripts';
import { ScriptRunner } from './script-runner';
import { deleteEnded } from './redis-cleanup';
import { countedIds, everySessionOf } from './user-sessions';
import type { Step } from './user-sessions';

/** Options of `RedisSessionStore`. */
export interface RedisSessionStoreOptions {
  /** Prefix of every key and channel; instances that share sessions use the same one. Default: `'tessera'`. */
  keyPrefix?: string;
  /**
   * How many hash tags sessions are spread over (on a Redis Cluster: how many slots, so
   * how many nodes, share the load). Fixed for the life of the data: changing it loses
   * every session. Default: `32`.
   */
  buckets?: number;
  /**
   * How long a session stays in Redis after it ends (expires or is revoked), for reuse
   * detection and `listRevokedSince`; Redis then drops it by key expiry. Use the
   * `cleanup.retention` of `SessionModule`. Default: `'7d'`.
   */
  retention?: string | number;
  /**
   * How far back `listRevokedSince` answers: at least the access-token lifetime plus the
   * clock-skew leeway (what `cached` mode asks for after a feed outage). Default: `'1h'`.
   */
  revocationWindow?: string | number;
  /** Longest wait for one Redis call before it fails with `SessionStoreUnavailableError`. Default: `'2s'`. */
  commandTimeout?: string | number;
  /**
   * Longest a cleanup run may hold the cluster-wide cleanup lock if its instance dies
   * (a live holder releases it when done). Default: `'10m'` (above `cleanup.maxRunTime`).
   */
  cleanupLockTtl?: string | number;
}

/** Longest a reissue's successor may stay pending (between its two steps) before Redis drops it. */
const PENDING_TTL_MS = 60_000;

/** Messages of the store's configuration errors. */
export const REDIS_STORE_ERROR_MESSAGES = {
  badDuration: (option: string, value: unknown) =>
    `RedisSessionStore option "${option}" must be a positive duration such as 500ms, 30s, 15m, 12h or 7d (got ${JSON.stringify(value)}).`,
  badBuckets: (value: unknown) => `RedisSessionStore option "buckets" must be an integer from 1 to 16384 (got ${JSON.stringify(value)}).`,
  badPrefix: (value: unknown) =>
    `RedisSessionStore option "keyPrefix" must be a non-empty string without "{" or "}" (got ${JSON.stringify(value)}).`,
  duplicateId: 'Session id already exists',
  successorLost: 'reissue: the successor expired before it was put in force (the two steps took longer than a minute)',
} as const;

/** A `revokedAtChannel` message, `"<sessionId> <epoch ms>"`; null when it is not one. */
function commitOf(message: string): { sessionId: string; committedAt: Date } | null {
  const space = message.lastIndexOf(' ');
  const time = message.slice(space + 1);
  if (space < 1 || !/^\d{1,15}$/.test(time)) return null;
  return { sessionId: message.slice(0, space), committedAt: new Date(Number(time)) };
}

function duration(option: string, value: string | number | undefined, fallback: string): number {
  const parsed = parseDuration(value ?? fallback);
  if (parsed === undefined) throw new Error(REDIS_STORE_ERROR_MESSAGES.badDuration(option, value));
  return parsed;
}

/**
 * `SessionStore` on Redis (one server or a Redis Cluster). Each operation on one session
 * is one Lua script, one round trip, atomic on the server: rotation is a compare-and-swap
 * in the script, never a read then a write. Sessions expire from Redis by themselves
 * (`retention` after they end); the cleanup job only prunes the indexes. Revocations are
 * published on a pub/sub channel and logged per bucket for `listRevokedSince`.
 *
 * What spans slots (a user's index and their sessions) is ordered so that an interrupted
 * write never hides a session: the index is written before the session, so it may name a
 * session that is gone (skipped by readers, pruned by the cleanup), never miss one. A
 * `reissue` puts its successor in place first as pending (invisible), then revokes the
 * old session (its point of no return), then puts the successor in force; a concurrent
 * `revokeByUser` or `updateUserSessions` reads the index again until it finds nothing new,
 * so a successor never escapes either.
 */
export class RedisSessionStore implements SessionStore {
  private readonly logger = new Logger('RedisSessionStore');
  private readonly keys: RedisKeys;
  private readonly runner: ScriptRunner;
  private readonly retentionMs: number;
  private readonly windowMs: number;
  private readonly lockTtlMs: number;
  /** Bucket the next cleanup starts from, so that no bucket waits behind the others. */
  private nextBucket = 0;
  /** The feed opened last, for `feedStatus`. */
  private feed: { closed: boolean; lastActivityAt: Date | null; connected: () => boolean } | undefined;

  constructor(
    private readonly client: SessionRedisClient,
    options: RedisSessionStoreOptions = {},
  ) {
    const prefix = options.keyPrefix ?? 'tessera';
    if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix)) {
      throw new Error(REDIS_STORE_ERROR_MESSAGES.badPrefix(options.keyPrefix));
    }
    const buckets = options.buckets ?? 32;
    if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > 16_384) {
      throw new Error(REDIS_STORE_ERROR_MESSAGES.badBuckets(options.buckets));
    }
    this.keys = new RedisKeys(prefix, buckets);
    this.retentionMs = duration('retention', options.retention, '7d');
    this.windowMs = duration('revocationWindow', options.revocationWindow, '1h');
    this.lockTtlMs = duration('cleanupLockTtl', options.cleanupLockTtl, '10m');
    this.runner = new ScriptRunner(client, duration('commandTimeout', options.commandTimeout, '2s'));
  }

  /** The key prefix (for tools that inspect or clear the store's keys). */
  get keyPrefix(): string {
    return this.keys.prefix;
  }

  async create(session: SessionRecord): Promise<void> {
    await this.insert(session, false, null);
  }

  /** The index entry first, then the session (see the class comment). */
  private async insert(session: SessionRecord, pending: boolean, predecessor: string | null): Promise<void> {
    const [key, ends] = this.keys.sessionKeys(session.id);
    const indexTtl = session.absoluteExpiresAt.getTime() + this.retentionMs - session.lastSeenAt.getTime();
    await this.runner.run(
      scripts.INDEX_ADD,
      [this.keys.user(session.userId)],
      [ms(session.createdAt), session.id, String(Math.max(indexTtl, PENDING_TTL_MS))],
    );
    const reply = (await this.runner.run(
      scripts.CREATE,
      [key, ends],
      [
        session.id,
        ms(session.lastSeenAt),
        String(this.retentionMs),
        pending ? '1' : '0',
        String(PENDING_TTL_MS),
        predecessor ?? '',
        ...recordFields(session),
      ],
    )) as [number, string?];
    if (reply[0] === 1) return;
    // The id is taken: drop the entry just added, unless it names this user's own session.
    if (reply[1] !== session.userId) {
      await this.runner.run(scripts.INDEX_REMOVE, [this.keys.user(session.userId)], [session.id]);
    }
    throw new Error(REDIS_STORE_ERROR_MESSAGES.duplicateId);
  }

  async findById(id: string): Promise<SessionRecord | null> {
    return recordOf(id, await this.runner.run(scripts.FIND, [this.keys.session(id)], []));
  }

  async rotateRefresh(id: string, rotation: RefreshRotation): Promise<SessionRecord | null> {
    const [key, ends] = this.keys.sessionKeys(id);
    const reply = await this.runner.run(
      scripts.ROTATE,
      [key, ends],
      [
        rotation.expectedRefreshHash,
        rotation.refreshHash,
        ms(rotation.now),
        ms(rotation.expiresAt),
        String(this.retentionMs),
        id,
      ],
    );
    return recordOf(id, reply);
  }

  async touch(id: string, at: Date, expiresAt: Date): Promise<boolean> {
    const [key, ends] = this.keys.sessionKeys(id);
    const reply = await this.runner.run(scripts.TOUCH, [key, ends], [ms(at), ms(expiresAt), String(this.retentionMs), id]);
    return reply === 1;
  }

  async markAuthenticated(id: string, at: Date): Promise<SessionRecord | null> {
    return recordOf(id, await this.runner.run(scripts.MARK_AUTHENTICATED, [this.keys.session(id)], [ms(at)]));
  }

  async revoke(id: string, reason: RevocationReason, at: Date): Promise<boolean> {
    return (await this.revokeOne(id, reason, at, '')).status === 1;
  }

  private async revokeOne(id: string, reason: RevocationReason, at: Date, owner: string): Promise<Step> {
    const reply = (await this.runner.run(scripts.REVOKE, this.keys.sessionKeys(id), [
      id,
      reason,
      ms(at),
      String(this.retentionMs),
      String(this.windowMs),
      this.keys.revokedChannel,
      owner,
      this.keys.revokedAtChannel,
    ])) as [number, (string | null)?];
    return { id, status: reply[0], predecessor: reply[1] ?? null };
  }

  /**
   * Three steps (see the class comment): the successor pending, the old session revoked
   * with its grants read (where the reissue happens or not), the successor in force with
   * those grants. A successor whose old session could not be revoked is deleted.
   */
  async reissue(oldId: string, successor: SessionRecord, reason: RevocationReason, at: Date): Promise<boolean> {
    await this.insert(successor, true, oldId);
    const [key, ends] = this.keys.sessionKeys(successor.id);
    // Should this fail, whether the old session was revoked is unknown: the successor
    // stays pending (invisible) and Redis drops it within a minute.
    const grants = (await this.runner.run(scripts.REISSUE_REVOKE, this.keys.sessionKeys(oldId), [
      oldId,
      successor.userId,
      reason,
      ms(at),
      String(this.retentionMs),
      String(this.windowMs),
      this.keys.revokedChannel,
      this.keys.revokedAtChannel,
    ])) as [string, string] | null;
    if (!grants) {
      await this.runner.run(scripts.REISSUE_DISCARD, [key], []);
      await this.runner.run(scripts.INDEX_REMOVE, [this.keys.user(successor.userId)], [successor.id]);
      return false;
    }
    const activated = await this.runner.run(scripts.REISSUE_ACTIVATE, [key, ends], [
      successor.id,
      grants[0],
      grants[1],
      ms(at),
      String(this.retentionMs),
    ]);
    if (activated !== 1) throw new Error(REDIS_STORE_ERROR_MESSAGES.successorLost);
    return true;
  }

  async listByUser(userId: string, now: Date): Promise<SessionRecord[]> {
    const ids = await this.indexOf(userId);
    const found = await Promise.all(ids.map((id) => this.findById(id)));
    const at = now.getTime();
    return found
      .filter(
        (record): record is SessionRecord =>
          record !== null && record.userId === userId && record.revokedAt === null && record.expiresAt.getTime() > at,
      )
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private async indexOf(userId: string): Promise<string[]> {
    return ((await this.runner.run(scripts.INDEX_READ, [this.keys.user(userId)], [])) as unknown[]).map(String);
  }

  async revokeByUser(userId: string, reason: RevocationReason, at: Date, exceptId?: string): Promise<string[]> {
    const steps = await everySessionOf(() => this.indexOf(userId), exceptId, (id) => this.revokeOne(id, reason, at, userId));
    return countedIds(steps);
  }

  async updateUserSessions(userId: string, grants: SessionGrants, at: Date): Promise<number> {
    const roles = JSON.stringify(grants.roles);
    const claims = JSON.stringify(grants.claims);
    const steps = await everySessionOf(() => this.indexOf(userId), undefined, async (id): Promise<Step> => {
      const reply = (await this.runner.run(scripts.GRANTS, [this.keys.session(id)], [userId, roles, claims, ms(at)])) as [
        number,
        (string | null)?,
      ];
      // A pending successor counts as set: whether it counts as a session is decided below.
      return { id, status: reply[0] === 2 ? 1 : reply[0], predecessor: reply[1] ?? null };
    });
    await this.runner.publish(this.keys.usersChannel, userId);
    return countedIds(steps).length;
  }

  async listRevokedSince(since: Date): Promise<SessionRevocation[]> {
    const replies = await Promise.all(
      this.keys.tags.map((tag) => this.runner.run(scripts.REVOKED_SINCE, [this.keys.revocations(tag)], [ms(since)])),
    );
    const revocations: SessionRevocation[] = [];
    for (const reply of replies as unknown[][]) {
      for (let i = 0; i + 1 < reply.length; i += 2) {
        revocations.push({ sessionId: String(reply[i]), revokedAt: new Date(Number(reply[i + 1])) });
      }
    }
    return revocations;
  }

  /**
   * How many sessions are live at `now` (neither revoked nor expired): one `ZCOUNT` per
   * bucket of its end-time index, the sessions whose end (the earlier of `expiresAt` and
   * `revokedAt`) is after `now`, all buckets at once; never a scan of the sessions. A
   * reissue's successor counts once in force. Exact, with three edges:
   * - the absolute expiry is excluded through `expiresAt`, which every write caps at
   *   `absoluteExpiresAt` (a record created with a later `expiresAt`, which the core never
   *   writes, would count until then);
   * - a revocation dated after `now` counts until that date;
   * - a session last refreshed by an earlier version of this store, which left the index
   *   behind on a refresh (a rolling deploy, or data from before it), counts only until
   *   the end it had before that refresh, and again from its next refresh or `touch`.
   *
   * The buckets are read together, not as one snapshot: a gauge's precision.
   */
  async countLiveSessions(now: Date): Promise<number> {
    const counts = await Promise.all(
      this.keys.tags.map((tag) => this.runner.run(scripts.COUNT_LIVE, [this.keys.ends(tag)], [ms(now)])),
    );
    return counts.reduce<number>((sum, count) => sum + Number(count), 0);
  }

  /** See `deleteEnded`. */
  deleteExpired(cutoff: Date, limit: number): Promise<number> {
    const start = this.nextBucket;
    this.nextBucket = (start + 1) % this.keys.tags.length;
    return deleteEnded(this.runner, this.keys, cutoff, limit, start);
  }

  /** `SET NX PX` with a random token; released only by its holder (a script compares the token). */
  async acquireCleanupLock(): Promise<CleanupLock | null> {
    const token = randomBytes(16).toString('base64url');
    const taken = await this.runner.run(scripts.LOCK_ACQUIRE, [this.keys.cleanupLock], [token, String(this.lockTtlMs)]);
    if (taken !== 'OK') return null;
    return {
      release: async () => {
        await this.runner.run(scripts.LOCK_RELEASE, [this.keys.cleanupLock], [token]);
      },
    };
  }

  /**
   * Subscribes, on a connection of its own, to the channels every revocation and every
   * `updateUserSessions` publishes to; resyncs the listener once subscribed and after
   * every reconnect (messages published meanwhile were missed). Only a listener with
   * `committed` also gets the channel of commit times (Redis's clock at the revocation);
   * a malformed message there is ignored.
   */
  async watchRevocations(listener: RevocationFeedListener): Promise<RevocationFeedSubscription> {
    const subscriber = await this.client.subscriber();
    const { revokedChannel, usersChannel, revokedAtChannel } = this.keys;
    const timed = typeof listener.committed === 'function';
    const feed = { closed: false, lastActivityAt: null as Date | null, connected: () => subscriber.isReady ?? true };
    try {
      subscriber.onReconnect(() => {
        feed.lastActivityAt = new Date();
        listener.resync();
      });
      const channels = timed ? [revokedChannel, usersChannel, revokedAtChannel] : [revokedChannel, usersChannel];
      // Nothing a listener throws may reach the client's reply loop: node-redis would reset
      // its reader and drop the messages read with this one, revocations among them.
      await subscriber.subscribe(channels, (message, channel) => {
        feed.lastActivityAt = new Date();
        try {
          if (channel === revokedChannel) listener.revoked([message]);
          else if (channel === usersChannel) listener.userChanged([message]);
          else if (channel === revokedAtChannel && timed) {
            const commit = commitOf(message);
            if (commit) listener.committed?.(commit.sessionId, commit.committedAt);
          }
        } catch (error) {
          this.logger.warn(`Feed listener failed (${error instanceof Error ? error.name : typeof error})`);
        }
      });
    } catch (error) {
      await subscriber.close().catch(() => undefined);
      throw error;
    }
    let closed = false;
    queueMicrotask(() => {
      if (!closed) listener.resync();
    });
    feed.lastActivityAt = new Date();
    this.feed = feed;
    return {
      close: async () => {
        closed = true;
        feed.closed = true;
        await subscriber.close();
      },
    };
  }

  /** A one-key round trip to Redis, bounded by `commandTimeout` (health checks). */
  async ping(): Promise<void> {
    await this.runner.run(scripts.PING, [`${this.keys.prefix}:health`], []);
  }

  /**
   * The revocation feed this store opened last (`RevocationCache` opens one per app), for
   * health checks: `open` is false when none was opened or it was closed. Redis pub/sub has
   * no heartbeat here: the last sign of life is the last (re)connect or message.
   */
  feedStatus(): SessionFeedStatus {
    const feed = this.feed;
    if (!feed || feed.closed) return { open: false, connected: false, lastActivityAt: null };
    return { open: true, connected: feed.connected(), lastActivityAt: feed.lastActivityAt };
  }
}
