// Redis for the benchmark's Redis-store scenarios: the server named by BENCH_REDIS_URL or
// REDIS_URL (default redis://127.0.0.1:6379), shared with whatever else uses it. Each run
// works under a key prefix of its own (`tessera-bench-<random>`, the demo's
// REDIS_KEY_PREFIX) and deletes every key holding it at the end (SCAN MATCH + UNLINK).
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';

/** The round trips the store's calls make: its scripts, by SHA or (after NOSCRIPT) by source. */
const SCRIPT_COMMANDS = ['evalsha', 'eval'];

/**
 * `INFO commandstats` as { <command>: { calls, rejected, failed } }. `calls` counts every
 * call the server ran, failed ones (a NOSCRIPT `EVALSHA`) included; `rejected` those
 * refused before running (each still a round trip). Commands run inside scripts count
 * under their own names too, so only `evalsha`/`eval` say how many calls clients sent.
 */
function parseCommandStats(text) {
  const out = {};
  for (const line of String(text).split(/\r?\n/)) {
    const match = /^cmdstat_([^:]+):(.*)$/.exec(line);
    if (!match) continue;
    const fields = Object.fromEntries(match[2].split(',').map((pair) => pair.split('=')));
    out[match[1]] = {
      calls: Number(fields.calls ?? 0),
      rejected: Number(fields.rejected_calls ?? 0),
      failed: Number(fields.failed_calls ?? 0),
    };
  }
  return out;
}

/**
 * What changed between two commandstats readings: { <command>: { calls, rejected, failed } },
 * non-zero only. A command whose counts went down was reset in between (CONFIG RESETSTAT by
 * another client): its counts since the reset are what is known.
 */
export function commandDelta(after, before) {
  const zero = { calls: 0, rejected: 0, failed: 0 };
  const out = {};
  for (const [name, a] of Object.entries(after)) {
    const known = before[name];
    const b = known && known.calls <= a.calls && known.rejected <= a.rejected ? known : zero;
    const d = { calls: a.calls - b.calls, rejected: a.rejected - b.rejected, failed: a.failed - b.failed };
    if (d.calls !== 0 || d.rejected !== 0 || d.failed !== 0) out[name] = d;
  }
  return out;
}

/** Round trips of the store's scripts in a delta: `EVALSHA` + `EVAL`, run or rejected. */
export function scriptRoundTrips(delta) {
  return SCRIPT_COMMANDS.reduce((sum, name) => sum + (delta[name]?.calls ?? 0) + (delta[name]?.rejected ?? 0), 0);
}

/**
 * Connects to `url` and picks the run's key prefix. Refuses a cluster node: the command
 * counts and the key deletion read one server. `close()` deletes the run's keys and
 * disconnects; it is safe to call twice (the bench's Ctrl-C path and its normal end).
 */
export async function openBenchRedis({ url, log }) {
  const client = createClient({ url, socket: { connectTimeout: 5_000, reconnectStrategy: false } });
  let lastError;
  client.on('error', (error) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `cannot reach Redis at ${redact(url)} (${error?.code ?? error?.name ?? error}): start redis-server, set BENCH_REDIS_URL, ` +
        'or leave the redis-* scenarios out (BENCH_ONLY)',
      { cause: error },
    );
  }
  const server = String(await client.info('server'));
  const cluster = String(await client.info('cluster'));
  if (/^cluster_enabled:1\b/m.test(cluster)) {
    await client.close().catch(() => client.destroy());
    throw new Error(`${redact(url)} is a Redis Cluster node: the bench needs a standalone server (it counts one server's commands)`);
  }
  const version = /^redis_version:(.+)$/m.exec(server)?.[1]?.trim() ?? 'unknown';
  const prefix = `tessera-bench-${randomBytes(6).toString('hex')}`;
  let closed = false;
  /** Every key holding the run's prefix (the store puts it inside a hash tag: `{prefix:n}:…`). */
  const match = `*${prefix}*`;
  return {
    url,
    /** The URL without a password, for the report and the log. */
    shownUrl: redact(url),
    version,
    prefix,
    /** `INFO <section>` as text. */
    async info(section) {
      return String(await client.info(section));
    },
    /** The server's `INFO commandstats`, parsed. */
    async commandStats() {
      return parseCommandStats(await client.info('commandstats'));
    },
    /** How many keys hold the run's prefix (SCAN). */
    async countKeys() {
      let n = 0;
      for await (const keys of client.scanIterator({ MATCH: match, COUNT: 1_000 })) n += keys.length;
      return n;
    },
    /** Deletes the run's keys (SCAN MATCH + UNLINK); resolves to how many. */
    async deleteKeys() {
      let n = 0;
      for await (const keys of client.scanIterator({ MATCH: match, COUNT: 1_000 })) {
        if (keys.length === 0) continue;
        n += Number(await client.unlink(keys));
      }
      return n;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        const deleted = await this.deleteKeys();
        log?.(`deleted ${deleted} keys of prefix ${prefix}`);
      } finally {
        await client.close().catch(() => client.destroy());
      }
      if (lastError) log?.(`Redis connection error during the run: ${lastError.code ?? lastError.name}`);
    },
  };
}

/** A Redis URL without its password. */
export function redact(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}
