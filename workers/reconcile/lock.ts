import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../shared/redis';

// Deletes the lock only if it still holds the caller's token: a holder whose lock expired and
// was taken by another never releases the other's.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

// Gives the lock a new expiry only if it still holds the caller's token.
const EXTEND = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

/**
 * A lock in RedisClient, one holder at a time across processes: `SET key token NX PX ttl`. It expires
 * by itself (a holder that dies frees it after `ttlMs`) and only its holder can release it.
 */
export interface RedisLock {
  /** The holder's token, or null if someone else holds the lock. */
  acquire(ttlMs: number): Promise<string | null>;
  /** Releases the lock if `token` still holds it; whether it did. */
  release(token: string): Promise<boolean>;
  /** Makes the lock expire `ttlMs` from now if `token` still holds it; whether it did. */
  extend(token: string, ttlMs: number): Promise<boolean>;
}

export function createRedisLock(redis: RedisClient, key: string): RedisLock {
  return {
    async acquire(ttlMs) {
      const token = randomUUID();
      return (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK' ? token : null;
    },
    async release(token) {
      return (await redis.eval(RELEASE, 1, key, token)) === 1;
    },
    async extend(token, ttlMs) {
      return (await redis.eval(EXTEND, 1, key, token, String(ttlMs))) === 1;
    },
  };
}
