import { createHash } from 'node:crypto';

/** A Lua script and its SHA1, as `EVALSHA` names it. */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/*
 * Every script touches keys of one hash slot only (a bucket's `{prefix:n}` tag, or one
 * user's index), and declares every key it touches in KEYS, as Redis Cluster requires.
 *
 * A session is a hash: u userId, r roles (JSON), c claims (JSON), h refresh hash, ph the
 * previous one, g generation, ra rotatedAt, ca createdAt, aa authenticatedAt (absent on sessions written
 * before it existed: read as ca), ls lastSeenAt, e expiresAt,
 * ae absoluteExpiresAt, va revokedAt, vr revokedReason, ua userAgent, ip; times in epoch
 * milliseconds, a missing field is null. Fields that are not part of the record: p (a
 * reissue's successor not yet in force, invisible to reads), pr (the session it
 * succeeds), gu (grants set by updateUserSessions while it was pending).
 *
 * Each bucket also has `x`, the sessions it holds by the time they end (min of expiresAt
 * and revokedAt; every write that moves either puts it there, so that it can be counted
 * by score; never later than that: the cleanup relies on it), whose members are `["id","userId"]` so that the cleanup can prune user
 * indexes even for sessions Redis already expired; and `r`, the bucket's revocations by
 * time, trimmed to the revocation window at each revocation.
 */
const COMMON = `
local function num(value) return string.format('%.0f', value) end
local function ends(e, va)
  local at = tonumber(e)
  if va then
    local revoked = tonumber(va)
    if revoked < at then return revoked end
  end
  return at
end
local function member(id, user) return cjson.encode({ id, user }) end
-- Redis drops the record \`retention\` after it ends (never within a second of this write).
local function keep(key, ended, now, retention)
  local ttl = ended + retention - now
  if ttl < 1000 then ttl = 1000 end
  redis.call('PEXPIRE', key, num(ttl))
end
`;

function script(name: string, body: string): LuaScript {
  const source = `${COMMON}\n${body}`;
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** KEYS: user index. ARGV: score (createdAt), id, ttl ms. Adds the id; the index lives as long as its longest session can. */
export const INDEX_ADD = script(
  'index_add',
  `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
local current = redis.call('PTTL', KEYS[1])
if current < ttl then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
`,
);

/** KEYS: user index. ARGV: ids. */
export const INDEX_REMOVE = script('index_remove', `return redis.call('ZREM', KEYS[1], unpack(ARGV))`);

/**
 * KEYS: user indexes of one tag. ARGV: for each key in turn, how many ids, then the ids.
 * The cleanup's pruning: one call per tag, whatever the number of users.
 */
export const INDEX_PRUNE = script(
  'index_prune',
  `
local at = 1
local removed = 0
for i = 1, #KEYS do
  local count = tonumber(ARGV[at])
  local ids = {}
  for j = 1, count do ids[j] = ARGV[at + j] end
  at = at + count + 1
  if count > 0 then removed = removed + redis.call('ZREM', KEYS[i], unpack(ids)) end
end
return removed
`,
);

/** KEYS: user index. Ids, oldest first. */
export const INDEX_READ = script('index_read', `return redis.call('ZRANGE', KEYS[1], 0, -1)`);

/**
 * KEYS: session, ends index. ARGV: id, now, retention, pending ('1'/'0'), pending ttl,
 * predecessor ('' for none), then field/value pairs. Returns 1, or the owner of the
 * session that already has this id.
 */
export const CREATE = script(
  'create',
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return { 0, redis.call('HGET', KEYS[1], 'u') } end
local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'pr', ARGV[6]) end
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'p', '1')
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return { 1 }
end
local s = redis.call('HMGET', KEYS[1], 'u', 'e', 'va')
local ended = ends(s[2], s[3])
redis.call('ZADD', KEYS[2], num(ended), member(ARGV[1], s[1]))
keep(KEYS[1], ended, tonumber(ARGV[2]), tonumber(ARGV[3]))
return { 1 }
`,
);

/**
 * The fields a read returns, in this order (`recordOf` reads them by position: no field
 * names on the wire, no map to build). `p` last: a pending successor is not a session yet.
 */
export const RECORD_FIELDS = ['u', 'r', 'c', 'h', 'ph', 'g', 'ra', 'ca', 'ls', 'e', 'ae', 'va', 'vr', 'ua', 'ip', 'aa', 'p'] as const;
const READ = `redis.call('HMGET', KEYS[1], ${RECORD_FIELDS.map((field) => `'${field}'`).join(', ')})`;

/** KEYS: session. Its fields (`RECORD_FIELDS`), all nil when absent. */
export const FIND = script('find', `return ${READ}`);

/**
 * KEYS: session, ends index. ARGV: expected hash, new hash, now, expiresAt, retention, id.
 * The compare-and-swap of a refresh: the updated fields, or nil when the session is absent,
 * pending, revoked, expired at now, or holds another hash.
 */
export const ROTATE = script(
  'rotate',
  `
local s = redis.call('HMGET', KEYS[1], 'u', 'h', 'e', 'ae', 'va', 'p', 'g')
if not s[1] or s[5] or s[6] then return false end
local now = tonumber(ARGV[3])
if tonumber(s[3]) <= now or s[2] ~= ARGV[1] then return false end
local e = math.min(tonumber(ARGV[4]), tonumber(s[4]))
redis.call('HSET', KEYS[1], 'ph', s[2], 'h', ARGV[2], 'g', num(tonumber(s[7]) + 1), 'ra', ARGV[3], 'ls', ARGV[3], 'e', num(e))
-- The end-time index follows: the cleanup would cope with an earlier time (DELETE_ENDED
-- re-reads the session), but a count of live sessions by score would not.
redis.call('ZADD', KEYS[2], num(e), member(ARGV[6], s[1]))
keep(KEYS[1], e, now, tonumber(ARGV[5]))
return ${READ}
`,
);

/** KEYS: session, ends index. ARGV: at, expiresAt, retention, id. 1 when the session was live. */
export const TOUCH = script(
  'touch',
  `
local s = redis.call('HMGET', KEYS[1], 'u', 'e', 'ae', 'va', 'p', 'ls')
if not s[1] or s[4] or s[5] then return 0 end
local at = tonumber(ARGV[1])
local e = tonumber(s[2])
if e <= at then return 0 end
if at > tonumber(s[6]) then redis.call('HSET', KEYS[1], 'ls', ARGV[1]) end
local capped = math.min(tonumber(ARGV[2]), tonumber(s[3]))
if capped > e then
  redis.call('HSET', KEYS[1], 'e', num(capped))
  redis.call('ZADD', KEYS[2], num(capped), member(ARGV[4], s[1]))
  keep(KEYS[1], capped, at, tonumber(ARGV[3]))
end
return 1
`,
);

/**
 * KEYS: session. ARGV: at. Marks a live session (present, not pending, not revoked, not
 * expired at `at`) authenticated at `at`, never moving `aa` backwards; its fields
 * (`RECORD_FIELDS`), or nil when it is not live.
 */
export const MARK_AUTHENTICATED = script(
  'mark_authenticated',
  `
local s = redis.call('HMGET', KEYS[1], 'u', 'e', 'va', 'p', 'aa', 'ca')
if not s[1] or s[3] or s[4] then return false end
local at = tonumber(ARGV[1])
if tonumber(s[2]) <= at then return false end
if at > tonumber(s[5] or s[6]) then redis.call('HSET', KEYS[1], 'aa', ARGV[1]) end
return ${READ}
`,
);

/*
 * A revocation is published twice: the bare id on `channel` (what every version's feed
 * reads: never change it), then "<id> <epoch ms>" on `timed`, the commit time on Redis's
 * own clock (`TIME`, which Redis 7 lets a script call anywhere: scripts replicate by
 * their effects), for the propagation-lag metric of the feeds that ask for it. Always
 * published, as no instance can tell whether another listens: it costs one more PUBLISH
 * per revoked session (about a microsecond of Redis time with the TIME call; on a
 * cluster, one more message on the cluster bus), and revocations are rare next to refreshes.
 */
const REVOKE_BODY = `
local function revoke(s, id, reason, at, retention, window, channel, timed)
  redis.call('HSET', KEYS[1], 'va', num(at), 'vr', reason)
  redis.call('ZADD', KEYS[3], num(at), id)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. num(at - window))
  if not s.pending then
    local ended = math.min(tonumber(s.e), at)
    redis.call('ZADD', KEYS[2], num(ended), member(id, s.u))
    keep(KEYS[1], ended, at, retention)
  end
  redis.call('PUBLISH', channel, id)
  local time = redis.call('TIME')
  redis.call('PUBLISH', timed, id .. ' ' .. num(tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)))
end
`;

/**
 * KEYS: session, ends index, revocation log. ARGV: id, reason, at, retention, window,
 * channel, owner ('' for any), timed channel. Returns { status, predecessor }: 1 revoked, 0 already
 * revoked, -1 absent, -2 another user's; `predecessor` is set for a reissue's successor.
 * A pending successor is revoked too (a revocation of its user must not miss it).
 */
export const REVOKE = script(
  'revoke',
  `${REVOKE_BODY}
local s = redis.call('HMGET', KEYS[1], 'u', 'e', 'va', 'p', 'pr')
if not s[1] then return { -1 } end
if ARGV[7] ~= '' and s[1] ~= ARGV[7] then return { -2 } end
if s[3] then return { 0, s[5] } end
revoke({ u = s[1], e = s[2], pending = s[4] }, ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], ARGV[8])
return { 1, s[5] }
`,
);

/**
 * KEYS: old session, its ends index, its revocation log. ARGV: id, userId, reason, at,
 * retention, window, channel, timed channel. The first half of a reissue: revokes the old session when
 * it is live at `at` and the user's, and returns its grants { roles, claims }; else nil.
 */
export const REISSUE_REVOKE = script(
  'reissue_revoke',
  `${REVOKE_BODY}
local s = redis.call('HMGET', KEYS[1], 'u', 'e', 'va', 'p', 'r', 'c')
local at = tonumber(ARGV[4])
if not s[1] or s[3] or s[4] or s[1] ~= ARGV[2] or tonumber(s[2]) <= at then return false end
revoke({ u = s[1], e = s[2] }, ARGV[1], ARGV[3], at, tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8])
return { s[5], s[6] }
`,
);

/**
 * KEYS: successor, its ends index. ARGV: id, roles, claims, at, retention. The second
 * half: puts the pending successor in force with the old session's grants (unless an
 * update already gave it newer ones). 1 done, 0 when it is gone.
 */
export const REISSUE_ACTIVATE = script(
  'reissue_activate',
  `
local s = redis.call('HMGET', KEYS[1], 'u', 'e', 'va', 'p', 'gu')
if not s[1] then return 0 end
if not s[4] then return 1 end
if not s[5] then redis.call('HSET', KEYS[1], 'r', ARGV[2], 'c', ARGV[3]) end
redis.call('HDEL', KEYS[1], 'p', 'gu')
local ended = ends(s[2], s[3])
redis.call('ZADD', KEYS[2], num(ended), member(ARGV[1], s[1]))
keep(KEYS[1], ended, tonumber(ARGV[4]), tonumber(ARGV[5]))
return 1
`,
);

/** KEYS: successor. Deletes it if it is still pending (a reissue that did not happen). */
export const REISSUE_DISCARD = script(
  'reissue_discard',
  `
if redis.call('HGET', KEYS[1], 'p') then return redis.call('DEL', KEYS[1]) end
return 0
`,
);

/**
 * KEYS: session. ARGV: owner, roles, claims, at. Sets the grants of a live session of the
 * owner. Returns { status, predecessor }: 1 set, 2 set on a pending successor, 0 not
 * live, -1 absent, -2 another user's.
 */
export const GRANTS = script(
  'grants',
  `
local s = redis.call('HMGET', KEYS[1], 'u', 'e', 'va', 'p', 'pr')
if not s[1] then return { -1 } end
if s[1] ~= ARGV[1] then return { -2 } end
if s[3] or tonumber(s[2]) <= tonumber(ARGV[4]) then return { 0, s[5] } end
redis.call('HSET', KEYS[1], 'r', ARGV[2], 'c', ARGV[3])
if s[4] then
  redis.call('HSET', KEYS[1], 'gu', '1')
  return { 2, s[5] }
end
return { 1, s[5] }
`,
);

/**
 * KEYS: ends index. ARGV: now. How many of the bucket's sessions end after `now`: those
 * live at `now` (see `x` above; a pending successor is not in the index yet).
 */
export const COUNT_LIVE = script('count_live', `return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf')`);

/** KEYS: revocation log. ARGV: since. Flat id, time pairs. */
export const REVOKED_SINCE = script(
  'revoked_since',
  `return redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf', 'WITHSCORES')`,
);

/** KEYS: ends index. ARGV: cutoff, limit. Members of sessions that ended before the cutoff. */
export const ENDED_BEFORE = script(
  'ended_before',
  `return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))`,
);

/**
 * KEYS: ends index, then one session per member. ARGV: cutoff, then the members. Deletes
 * each session that ended before the cutoff (one Redis already dropped counts too: its
 * member is what is left of it); returns the members removed. One that no longer ended
 * before the cutoff gets its right time back, so that it is not picked again.
 */
export const DELETE_ENDED = script(
  'delete_ended',
  `
local cutoff = tonumber(ARGV[1])
local removed = {}
for i = 2, #KEYS do
  local m = ARGV[i]
  local s = redis.call('HMGET', KEYS[i], 'e', 'va', 'u')
  if not s[3] then
    redis.call('ZREM', KEYS[1], m)
    removed[#removed + 1] = m
  else
    local ended = ends(s[1], s[2])
    if ended < cutoff then
      redis.call('DEL', KEYS[i])
      redis.call('ZREM', KEYS[1], m)
      removed[#removed + 1] = m
    else
      redis.call('ZADD', KEYS[1], num(ended), m)
    end
  end
end
return removed
`,
);

/** KEYS: lock. ARGV: token, ttl ms. 'OK' when taken. */
/** A health check's round trip: reads nothing that matters, on the node holding `KEYS[1]`. */
export const PING = script('ping', `return redis.call('EXISTS', KEYS[1])`);

export const LOCK_ACQUIRE = script('lock_acquire', `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])`);

/** KEYS: lock. ARGV: token. Releases the lock only for its owner. */
export const LOCK_RELEASE = script(
  'lock_release',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
);
