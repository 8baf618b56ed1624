import type { RedisClient } from '../redis';

// Many requests in one call (an accept batch): one round trip and one script run instead of
// one per request. KEYS per request i (5 each): idem key, status key, open set, user's open
// set, user's rate window. ARGV: ttl, rate limit per window (0: off), window (ms), then per
// request: fingerprint, id, pending view, accept time (ms), refuse ('1'/'0'), first answer
// (stored with the key, replayed: '' or a word), the request's Idempotency-Key.
// Per request:
// - the first claim's `<fingerprint> <id>[ <answer>]`: a replay — answered even while new work
//   is refused, and never counted against the rate limit;
// - 'R': the key was new but new work is refused (admission control): nothing written;
// - 'L <ms>': the user's rolling window is full: nothing written; <ms> until a slot frees up;
// - '': claimed: the key, the PENDING record, the open sets, one slot of the window.
export const RESERVE_MANY = `
local out = {}
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local now = 0
if limit > 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
for i = 1, #KEYS / 5 do
  local k = 5 * (i - 1)
  local a = 7 * (i - 1) + 3
  local existing = redis.call('GET', KEYS[k + 1])
  local limited = nil
  if not existing and ARGV[a + 5] ~= '1' and limit > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 5], '-inf', now - window)
    if redis.call('ZCARD', KEYS[k + 5]) >= limit then
      local oldest = redis.call('ZRANGE', KEYS[k + 5], 0, 0, 'WITHSCORES')
      limited = tonumber(oldest[2]) + window - now
    end
  end
  if existing then
    out[i] = existing
  elseif ARGV[a + 5] == '1' then
    out[i] = 'R'
  elseif limited then
    out[i] = 'L ' .. limited
  else
    local value = ARGV[a + 1] .. ' ' .. ARGV[a + 2]
    if ARGV[a + 6] ~= '' then value = value .. ' ' .. ARGV[a + 6] end
    redis.call('SET', KEYS[k + 1], value, 'EX', ARGV[1])
    redis.call('HSET', KEYS[k + 2], 'status', 'PENDING', 'view', ARGV[a + 3], 'key', ARGV[a + 7])
    redis.call('EXPIRE', KEYS[k + 2], ARGV[1])
    redis.call('ZADD', KEYS[k + 3], ARGV[a + 4], ARGV[a + 2])
    redis.call('ZADD', KEYS[k + 4], ARGV[a + 4], ARGV[a + 2])
    redis.call('EXPIRE', KEYS[k + 4], ARGV[1])
    if limit > 0 then
      redis.call('ZADD', KEYS[k + 5], now, ARGV[a + 2])
      redis.call('PEXPIRE', KEYS[k + 5], window)
    end
    out[i] = ''
  end
end
return out
`;

// KEYS per update i (3 each): status key, open set, user's open set. ARGV: ttl, final ('1' or
// '0'), then status, view, id, accept time (ms) per update. Per update 1 if written.
// - A non-final view (PROCESSING, ON_HOLD, PENDING again) never replaces a final one, and
//   keeps its id in the open sets (again, if Redis lost them).
// - A final view leaves the open sets. FAILED, COMPLETED and CANCELLED never change; PAID
//   changes only to CANCELLED — so a late PAID from a slow worker never hides a cancellation.
export const TRANSITION_MANY = `
local terminal = { FAILED = true, COMPLETED = true, CANCELLED = true }
local out = {}
for i = 1, #KEYS / 3 do
  local k = 3 * (i - 1)
  local a = 4 * (i - 1) + 2
  local current = redis.call('HGET', KEYS[k + 1], 'status')
  local new = ARGV[a + 1]
  local keep = false
  if current then
    if ARGV[2] ~= '1' then
      keep = current == 'PAID' or terminal[current] == true
    elseif terminal[current] then
      keep = current ~= new
    elseif current == 'PAID' then
      keep = new ~= 'PAID' and new ~= 'CANCELLED'
    end
  end
  if keep then
    out[i] = 0
  else
    redis.call('HSET', KEYS[k + 1], 'status', new, 'view', ARGV[a + 2])
    redis.call('EXPIRE', KEYS[k + 1], ARGV[1])
    if ARGV[2] == '1' then
      redis.call('ZREM', KEYS[k + 2], ARGV[a + 3])
      redis.call('ZREM', KEYS[k + 3], ARGV[a + 3])
    else
      redis.call('ZADD', KEYS[k + 2], 'NX', ARGV[a + 4], ARGV[a + 3])
      redis.call('ZADD', KEYS[k + 3], 'NX', ARGV[a + 4], ARGV[a + 3])
      redis.call('EXPIRE', KEYS[k + 3], ARGV[1])
    end
    out[i] = 1
  end
end
return out
`;

export interface ScriptedRedis {
  trackReserveMany(keyCount: number, ...keysAndArgv: string[]): Promise<string[]>;
  trackTransitionMany(keyCount: number, ...keysAndArgv: string[]): Promise<number[]>;
}

/** The scripts as commands of this connection (defined once per connection). */
export function scripted(redis: RedisClient): ScriptedRedis {
  if (!('trackReserveMany' in redis)) {
    redis.defineCommand('trackReserveMany', { lua: RESERVE_MANY });
    redis.defineCommand('trackTransitionMany', { lua: TRANSITION_MANY });
  }
  return redis as unknown as ScriptedRedis;
}
