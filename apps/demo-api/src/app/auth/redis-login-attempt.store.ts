import { Injectable } from '@nestjs/common';
import { DemoRedis } from '../redis/demo-redis';
import { RedisScript, runScript } from '../redis/redis-script';
import { IN_FLIGHT_TTL_MS } from './attempt-window';
import type { AttemptWindow } from './attempt-window';
import { LoginAttemptStore } from './login-attempt.store';
import type { AttemptClaim, AttemptReservation, AttemptSettlement } from './login-attempt.store';

/**
 * The rules of `attempt-window.ts` (`liveWindow`, `settled`, `expiryOf`) in Lua. Each
 * window is a hash: f failures, i in flight, s started at, l last failure at, r reserved at
 * (ms); it expires by itself (PEXPIRE) when it ends, so Redis holds nothing that is over.
 * ARGV: now, windowMs, in-flight TTL, then per key the call's own arguments.
 */
const PRELUDE = `
local now = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local inFlightTtl = tonumber(ARGV[3])

local function live(key)
  local v = redis.call('HMGET', key, 'f', 'i', 's', 'l', 'r')
  if not v[3] then return {0, 0, now, 0, 0} end
  local w = {tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]), tonumber(v[4]) or 0, tonumber(v[5]) or 0}
  if w[2] > 0 and w[5] + inFlightTtl <= now then w[2] = 0 end
  if w[3] + windowMs <= now then w[1] = 0; w[3] = now; w[4] = 0 end
  return w
end

local function int(n) return string.format('%.0f', n) end

local function save(key, w)
  if w[1] == 0 and w[2] == 0 then
    redis.call('DEL', key)
    return
  end
  local expiry = w[3] + windowMs
  if w[2] > 0 then expiry = math.max(expiry, w[5] + inFlightTtl) end
  redis.call('HSET', key, 'f', int(w[1]), 'i', int(w[2]), 's', int(w[3]), 'l', int(w[4]), 'r', int(w[5]))
  redis.call('PEXPIRE', key, int(math.max(1, expiry - now)))
end
`;

/**
 * `admits` and `withReservation`, for all keys or none. Per key ARGV: limit, base delay,
 * max delay. Replies admitted (1/0), then each key's live window from before (f, i, s, l, r).
 */
const RESERVE = new RedisScript(
  'login-attempts reserve',
  `${PRELUDE}
local windows = {}
local admitted = 1
for k = 1, #KEYS do
  local w = live(KEYS[k])
  windows[k] = w
  local at = 4 + (k - 1) * 3
  local limit, baseDelay, maxDelay = tonumber(ARGV[at]), tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local ok = w[1] + w[2] < limit
  if not ok and baseDelay > 0 and w[2] == 0 then
    local delay = math.min(maxDelay, baseDelay * 2 ^ math.min(math.max(0, w[1] - limit), 16))
    ok = w[4] + delay <= now
  end
  if not ok then admitted = 0 end
end
local reply = {admitted}
for k = 1, #KEYS do
  local w = windows[k]
  if admitted == 1 then save(KEYS[k], {w[1], w[2] + 1, w[3], w[4], now}) end
  for j = 1, 5 do reply[#reply + 1] = w[j] end
end
return reply
`,
);

/** `settled`, per key. Per key ARGV: the outcome (failed, released, cleared). */
const SETTLE = new RedisScript(
  'login-attempts settle',
  `${PRELUDE}
for k = 1, #KEYS do
  local w = live(KEYS[k])
  local outcome = ARGV[3 + k]
  w[2] = math.max(0, w[2] - 1)
  if outcome == 'failed' then
    w[1] = w[1] + 1
    w[4] = now
  elseif outcome == 'cleared' then
    w[1] = 0
  end
  save(KEYS[k], w)
end
return 1
`,
);

/**
 * `LoginAttemptStore` in Redis, used when the sessions are there: one Lua script per call,
 * atomic on the server. A call's keys share the account's hash tag, so they live in one
 * slot of a Redis Cluster. Windows expire from Redis by themselves.
 */
@Injectable()
export class RedisLoginAttemptStore extends LoginAttemptStore {
  constructor(private readonly redis: DemoRedis) {
    super();
  }

  async reserve(group: string, claims: AttemptClaim[], now: number, windowMs: number): Promise<AttemptReservation> {
    const args = [now, windowMs, IN_FLIGHT_TTL_MS, ...claims.flatMap(({ rule }) => [rule.limit, rule.baseDelayMs, rule.maxDelayMs])];
    const reply = (await this.run(RESERVE, group, claims, args)) as number[];
    const windows = claims.map((_, k): AttemptWindow => {
      const [failures, inFlight, startedAt, lastFailureAt, reservedAt] = reply.slice(1 + k * 5, 6 + k * 5).map(Number);
      return { failures, inFlight, startedAt, lastFailureAt, reservedAt };
    });
    return { admitted: Number(reply[0]) === 1, windows };
  }

  async settle(group: string, settlements: AttemptSettlement[], now: number, windowMs: number): Promise<void> {
    await this.run(SETTLE, group, settlements, [now, windowMs, IN_FLIGHT_TTL_MS, ...settlements.map(({ outcome }) => outcome)]);
  }

  /** Nothing to do: windows expire from Redis by themselves. */
  async prune(): Promise<number> {
    return 0;
  }

  /** The Redis key of one window: the account's hash as the hash tag, so all of an account's keys share a slot. */
  keyOf(group: string, key: string): string {
    return `${this.redis.keyPrefix}:login-attempts:{${group}}:${key}`;
  }

  private run(script: RedisScript, group: string, items: Array<{ key: string }>, args: Array<string | number>): Promise<unknown> {
    const keys = items.map(({ key }) => this.keyOf(group, key));
    return runScript(this.redis.scripts, script, keys, args.map(String), this.redis.timeoutMs);
  }
}
