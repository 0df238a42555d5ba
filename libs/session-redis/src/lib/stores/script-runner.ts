import { SessionStoreUnavailableError } from '@tessera/session';
import type { SessionRedisClient } from '../interfaces/session-redis-client.interface';
import type { LuaScript } from './redis-session.scripts';

/**
 * Replies that mean the server cannot serve now (loading, busy with a script, a cluster
 * without a quorum, a failover), not that the call was wrong.
 */
const OUTAGE_REPLIES = /^(LOADING|BUSY|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|READONLY|NOREPLICAS|NOTBUSY)\b/;
/** Errors of a client or of this code, never an outage: kept as they are, so a bug is not hidden as a 503. */
const BUG_ERRORS = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError']);
/** Names the Redis clients give a reply error (node-redis `ErrorReply`/`SimpleError`, ioredis `ReplyError`). */
const REPLY_ERRORS = new Set(['ErrorReply', 'SimpleError', 'ReplyError']);

/** Whether a Redis call's failure is an outage (unreachable, lost, late, or a server that cannot serve now). */
export function isRedisOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (OUTAGE_REPLIES.test(error.message)) return true;
  if (BUG_ERRORS.has(error.name) || REPLY_ERRORS.has(error.name) || REPLY_ERRORS.has(error.constructor.name)) return false;
  // A reply error of a client we do not know: "ERR ...", "WRONGTYPE ...", "NOSCRIPT ..."
  return !/^[A-Z]{2,}[A-Z_]* /.test(error.message);
}

/**
 * Runs the store's scripts by SHA (`EVALSHA`); a node that does not know a script yet
 * (`NOSCRIPT`: a restart, a failover, a new cluster node, `SCRIPT FLUSH`) gets it by
 * `EVAL`, which caches it there for the next call. Every call is bounded by `timeoutMs`
 * and fails at once while the client is disconnected; both are
 * `SessionStoreUnavailableError`, as is any other outage.
 */
export class ScriptRunner {
  constructor(
    private readonly client: SessionRedisClient,
    private readonly timeoutMs: number,
  ) {}

  /** One script call; rejects with `SessionStoreUnavailableError` on an outage. */
  run(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    if (!this.client.isReady) return Promise.reject(new SessionStoreUnavailableError('Redis is not connected'));
    // One timer and one promise per call: this is every strict request's and refresh's path.
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SessionStoreUnavailableError(`Redis did not answer within ${this.timeoutMs} ms (${script.name})`)),
        this.timeoutMs,
      );
      this.send(script, keys, args).then(
        (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(
            !(error instanceof SessionStoreUnavailableError) && isRedisOutage(error)
              ? new SessionStoreUnavailableError(`Redis call failed (${script.name}: ${(error as Error).name})`, { cause: error })
              : error,
          );
        },
      );
    });
  }

  /** `PUBLISH`, bounded and classified like a script. */
  async publish(channel: string, message: string): Promise<void> {
    if (!this.client.isReady) throw new SessionStoreUnavailableError('Redis is not connected');
    try {
      await this.client.publish(channel, message);
    } catch (error) {
      if (isRedisOutage(error)) throw new SessionStoreUnavailableError('Redis PUBLISH failed', { cause: error });
      throw error;
    }
  }

  private async send(script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.client.evalSha(script.sha, keys, args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return this.client.eval(script.source, keys, args);
      throw error;
    }
  }
}
