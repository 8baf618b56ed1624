import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Redis-side records of accepted requests, so the accept path and status polling never touch
 * MySQL:
 *
 * - `<prefix>:idem:<kind>:<userId>:<sha256(key)>` → `<fingerprint> <id>`: the idempotency key's
 *   first use. The database's unique (user_id, idempotency_key) backs it up.
 * - `<prefix>:status:<kind>:<id>` → hash { status, view }: the client-visible view, written
 *   PENDING at accept, PROCESSING and final by the worker. Final views are never overwritten
 *   by a non-final one.
 *
 * Both live {@link RECORD_TTL_SECONDS}; afterwards status reads fall back to the database.
 */
export const RECORD_TTL_SECONDS = 48 * 3_600;

export type TrackedKind = 'order' | 'charge';

export type Reservation = { reserved: true } | { reserved: false; fingerprint: string; id: string };

export interface StatusRecord {
  status: string;
  view: string;
}

// KEYS: idem, status. ARGV: fingerprint, id, pending view, ttl.
const RESERVE = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[4])
redis.call('HSET', KEYS[2], 'status', 'PENDING', 'view', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return false
`;

// KEYS: status. ARGV: status, view, ttl, final ('1' or '0').
// A final view always wins; a non-final one never replaces a final one.
const TRANSITION = `
local current = redis.call('HGET', KEYS[1], 'status')
if ARGV[4] ~= '1' and (current == 'PAID' or current == 'FAILED' or current == 'COMPLETED') then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'view', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
`;

interface ScriptedRedis {
  trackReserve(idem: string, status: string, ...argv: string[]): Promise<string | null>;
  trackTransition(status: string, ...argv: string[]): Promise<number>;
}

function scripted(redis: Redis): ScriptedRedis {
  if (!('trackReserve' in redis)) {
    redis.defineCommand('trackReserve', { numberOfKeys: 2, lua: RESERVE });
    redis.defineCommand('trackTransition', { numberOfKeys: 1, lua: TRANSITION });
  }
  return redis as unknown as ScriptedRedis;
}

/** SHA-256 of JSON with object keys sorted at every depth: key order does not matter. */
export function fingerprint(body: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(body)))
    .digest('hex');
}

export function createTrackingStore(redis: Redis, prefix: string) {
  const lua = scripted(redis);
  const idemKey = (kind: TrackedKind, userId: number, key: string) =>
    `${prefix}:idem:${kind}:${userId}:${createHash('sha256').update(key).digest('hex')}`;
  const statusKey = (kind: TrackedKind, id: string) => `${prefix}:status:${kind}:${id}`;
  const ttl = String(RECORD_TTL_SECONDS);

  return {
    /** The connection the store uses (shared with whoever created it). */
    redis,

    /**
     * Claims the idempotency key for `id` and records the PENDING view, atomically. If the key
     * was claimed before, returns who claimed it instead.
     */
    async reserve(
      kind: TrackedKind,
      userId: number,
      key: string,
      bodyFingerprint: string,
      id: string,
      pendingView: object,
    ): Promise<Reservation> {
      const existing = await lua.trackReserve(
        idemKey(kind, userId, key),
        statusKey(kind, id),
        bodyFingerprint,
        id,
        JSON.stringify(pendingView),
        ttl,
      );
      if (existing === null) return { reserved: true };
      const [fp = '', firstId = ''] = existing.split(' ');
      return { reserved: false, fingerprint: fp, id: firstId };
    },

    async get(kind: TrackedKind, id: string): Promise<StatusRecord | null> {
      const [status, view] = await redis.hmget(statusKey(kind, id), 'status', 'view');
      return status && view ? { status, view } : null;
    },

    /** Records a non-final state (PROCESSING, ON_HOLD, PENDING again) unless already final. */
    async transition(
      kind: TrackedKind,
      id: string,
      status: string,
      view: object,
    ): Promise<boolean> {
      const applied = await lua.trackTransition(
        statusKey(kind, id),
        status,
        JSON.stringify(view),
        ttl,
        '0',
      );
      return applied === 1;
    },

    /** Records the final view; replaces whatever was there. */
    async publishFinal(kind: TrackedKind, id: string, status: string, view: object): Promise<void> {
      await lua.trackTransition(statusKey(kind, id), status, JSON.stringify(view), ttl, '1');
    },
  };
}

export type TrackingStore = ReturnType<typeof createTrackingStore>;
