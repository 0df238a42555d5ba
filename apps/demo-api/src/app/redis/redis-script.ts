import { createHash } from 'node:crypto';
import { SessionStoreUnavailableError } from '@tessera/session';
import type { SessionRedisClient } from '@tessera/session-redis';

/** A Lua script and its SHA1, as `EVALSHA` names it. */
export class RedisScript {
  readonly sha: string;

  constructor(
    /** Named in errors (never the keys or arguments). */
    readonly name: string,
    readonly source: string,
  ) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

/** Replies of a server that cannot serve now (loading, busy, a cluster without quorum, a failover). */
const OUTAGE_REPLIES = /^(LOADING|BUSY|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|READONLY|NOREPLICAS)\b/;
/** Replies to a wrong call: a bug to see as such (500), not an outage to hide behind a 503. */
const REPLY_ERRORS = new Set(['ErrorReply', 'SimpleError', 'ReplyError']);
const BUG_ERRORS = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError']);

/** Whether a Redis call's failure is an outage (unreachable, lost, late, a server that cannot serve now). */
export function isRedisOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (OUTAGE_REPLIES.test(error.message)) return true;
  return !REPLY_ERRORS.has(error.name) && !REPLY_ERRORS.has(error.constructor.name) && !BUG_ERRORS.has(error.name);
}

/**
 * Runs `script` by SHA (`EVALSHA`), sending its source (`EVAL`) to a node that does not
 * know it yet (`NOSCRIPT`: a restart, a failover, a new cluster node). Fails at once while
 * the client is disconnected, and after `timeoutMs`; both, and any other outage, as
 * `SessionStoreUnavailableError`.
 */
export async function runScript(
  client: SessionRedisClient,
  script: RedisScript,
  keys: string[],
  args: string[],
  timeoutMs: number,
): Promise<unknown> {
  if (!client.isReady) throw new SessionStoreUnavailableError(`Redis is not connected (${script.name})`);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new SessionStoreUnavailableError(`Redis did not answer within ${timeoutMs} ms (${script.name})`)), timeoutMs);
  });
  const send = async () => {
    try {
      return await client.evalSha(script.sha, keys, args);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return client.eval(script.source, keys, args);
      throw error;
    }
  };
  try {
    return await Promise.race([send(), late]);
  } catch (error) {
    if (error instanceof SessionStoreUnavailableError) throw error;
    if (isRedisOutage(error)) throw new SessionStoreUnavailableError(`Redis call failed (${script.name}: ${(error as Error).name})`, { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
