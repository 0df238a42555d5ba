import { ms } from './redis-session-record';
import type { RedisKeys } from './redis-keys';
import * as scripts from './redis-session.scripts';
import type { ScriptRunner } from './script-runner';

/**
 * Removes up to `limit` sessions that ended before `cutoff` and prunes them from their
 * users' indexes. Those Redis already dropped by expiry count too (their index entries
 * are what is left of them). Each round asks every bucket at once for its share of what
 * is left to remove (the shares add up to it exactly; `start` is the bucket asked first,
 * which the store moves on at each call, so none waits behind the others), removes them with one short script per bucket,
 * and prunes the user indexes with one script per hash tag.
 */
export async function deleteEnded(
runner: ScriptRunner,
keys: RedisKeys,
cutoff: Date,
limit: number,
start: number,
): Promise<number> {
  const tags = keys.tags;
  let open = tags.map((_, n) => (start + n) % tags.length);
  let deleted = 0;
  while (deleted < limit && open.length > 0) {
    const remaining = limit - deleted;
    const shares = open.map((bucket, i) => ({
      bucket,
      share: Math.floor(remaining / open.length) + (i < remaining % open.length ? 1 : 0),
    }));
    const rounds = await Promise.all(
      shares
        .filter(({ share }) => share > 0)
        .map(async ({ bucket, share }) => {
          const members = (
            (await runner.run(scripts.ENDED_BEFORE, [keys.ends(tags[bucket])], [ms(cutoff), String(share)])) as unknown[]
          ).map(String);
          if (members.length === 0) return { bucket, full: false, removed: [] as string[] };
          const ids = members.map((member) => (JSON.parse(member) as [string, string])[0]);
          const removed = (
            (await runner.run(
              scripts.DELETE_ENDED,
              [keys.ends(tags[bucket]), ...ids.map((id) => keys.session(id))],
              [ms(cutoff), ...members],
            )) as unknown[]
          ).map(String);
          return { bucket, full: members.length === share, removed };
        }),
    );
    const removed = rounds.flatMap((round) => round.removed);
    deleted += removed.length;
    await pruneIndexes(runner, keys, removed);
    // A bucket that had fewer than its share has nothing more before the cutoff; one
    // without a share this round has not been asked yet.
    const asked = new Set(rounds.map((round) => round.bucket));
    const full = new Set(rounds.filter((round) => round.full).map((round) => round.bucket));
    open = open.filter((bucket) => full.has(bucket) || !asked.has(bucket));
  }
  return deleted;
}

/** Removes `["id","userId"]` members' ids from their users' indexes: one script per hash tag. */
async function pruneIndexes(runner: ScriptRunner, keys: RedisKeys, members: string[]): Promise<void> {
  const byTag = new Map<string, Map<string, string[]>>();
  for (const member of members) {
    const [id, userId] = JSON.parse(member) as [string, string];
    const key = keys.user(userId);
    const tag = keys.tagOf(userId);
    const users = byTag.get(tag) ?? new Map<string, string[]>();
    byTag.set(tag, users);
    users.set(key, [...(users.get(key) ?? []), id]);
  }
  await Promise.all(
    [...byTag.values()].map((users) =>
      runner.run(
        scripts.INDEX_PRUNE,
        [...users.keys()],
        [...users.values()].flatMap((ids) => [String(ids.length), ...ids]),
      ),
    ),
  );
}

