import type { RedisClient } from '../redis';

// Many requests in one call (an accept batch): one round trip and one script run instead of
// one per request. KEYS per request i (4 each): idem key, status key, open set, user's open set.
// ARGV: ttl, then per request fingerprint, id, pending view, accept time (ms), refuse ('1'/'0').
// Per request: '' if it claimed its key (PENDING record written, id added to the open sets),
// 'R' if the key was new but the request is refused, else the first claim's `<fingerprint> <id>`
// — a replay is answered even while new work is refused.
export const RESERVE_MANY = `
local out = {}
for i = 1, #KEYS / 4 do
  local k = 4 * (i - 1)
  local a = 5 * (i - 1) + 1
  local existing = redis.call('GET', KEYS[k + 1])
  if existing then
    out[i] = existing
  elseif ARGV[a + 5] == '1' then
    out[i] = 'R'
  else
    redis.call('SET', KEYS[k + 1], ARGV[a + 1] .. ' ' .. ARGV[a + 2], 'EX', ARGV[1])
    redis.call('HSET', KEYS[k + 2], 'status', 'PENDING', 'view', ARGV[a + 3])
    redis.call('EXPIRE', KEYS[k + 2], ARGV[1])
    redis.call('ZADD', KEYS[k + 3], ARGV[a + 4], ARGV[a + 2])
    redis.call('ZADD', KEYS[k + 4], ARGV[a + 4], ARGV[a + 2])
    redis.call('EXPIRE', KEYS[k + 4], ARGV[1])
    out[i] = ''
  end
end
return out
`;

// KEYS per update i (3 each): status key, open set, user's open set. ARGV: ttl, final ('1' or
// '0'), then status, view, id, accept time (ms) per update. Per update 1 if written. A final
// view always wins and leaves the open sets; a non-final one never replaces a final one and
// keeps its id in the open sets (again, if Redis lost them).
export const TRANSITION_MANY = `
local out = {}
for i = 1, #KEYS / 3 do
  local k = 3 * (i - 1)
  local a = 4 * (i - 1) + 2
  local current = redis.call('HGET', KEYS[k + 1], 'status')
  if ARGV[2] ~= '1' and (current == 'PAID' or current == 'FAILED' or current == 'COMPLETED') then
    out[i] = 0
  else
    redis.call('HSET', KEYS[k + 1], 'status', ARGV[a + 1], 'view', ARGV[a + 2])
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
