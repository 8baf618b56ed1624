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

// Many requests in one call (an accept batch, a job's requests): one round trip and one script
// run instead of one per request. KEYS: n idem keys, then their n status keys.
// ARGV: ttl, then fingerprint, id, pending view per request. Per request: '' if it claimed its
// key (and its PENDING record is written), else the first claim's `<fingerprint> <id>`.
const RESERVE_MANY = `
local n = #KEYS / 2
local out = {}
for i = 1, n do
  local existing = redis.call('GET', KEYS[i])
  if existing then
    out[i] = existing
  else
    redis.call('SET', KEYS[i], ARGV[3 * i - 1] .. ' ' .. ARGV[3 * i], 'EX', ARGV[1])
    redis.call('HSET', KEYS[n + i], 'status', 'PENDING', 'view', ARGV[3 * i + 1])
    redis.call('EXPIRE', KEYS[n + i], ARGV[1])
    out[i] = ''
  end
end
return out
`;

// KEYS: status keys. ARGV: ttl, final ('1' or '0'), then status, view per key. Per key 1 if
// written. A final view always wins; a non-final one never replaces a final one.
const TRANSITION_MANY = `
local out = {}
for i = 1, #KEYS do
  local current = redis.call('HGET', KEYS[i], 'status')
  if ARGV[2] ~= '1' and (current == 'PAID' or current == 'FAILED' or current == 'COMPLETED') then
    out[i] = 0
  else
    redis.call('HSET', KEYS[i], 'status', ARGV[2 * i + 1], 'view', ARGV[2 * i + 2])
    redis.call('EXPIRE', KEYS[i], ARGV[1])
    out[i] = 1
  end
end
return out
`;

interface ScriptedRedis {
  trackReserveMany(keyCount: number, ...keysAndArgv: string[]): Promise<string[]>;
  trackTransitionMany(keyCount: number, ...keysAndArgv: string[]): Promise<number[]>;
}

function scripted(redis: Redis): ScriptedRedis {
  if (!('trackReserveMany' in redis)) {
    redis.defineCommand('trackReserveMany', { lua: RESERVE_MANY });
    redis.defineCommand('trackTransitionMany', { lua: TRANSITION_MANY });
  }
  return redis as unknown as ScriptedRedis;
}

/** One request to reserve: its idempotency key's first use claims `id`. */
export interface ReserveRequest {
  kind: TrackedKind;
  userId: number;
  key: string;
  fingerprint: string;
  id: string;
  pendingView: object;
}

/** One status record to write. */
export interface StatusUpdate {
  id: string;
  status: string;
  view: object;
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

  /** Claims many idempotency keys in one atomic script; answers in request order. */
  async function reserveMany(requests: readonly ReserveRequest[]): Promise<Reservation[]> {
    const keys = requests.map((r) => idemKey(r.kind, r.userId, r.key));
    for (const r of requests) keys.push(statusKey(r.kind, r.id));
    const argv = requests.flatMap((r) => [r.fingerprint, r.id, JSON.stringify(r.pendingView)]);
    const answers = await lua.trackReserveMany(keys.length, ...keys, ttl, ...argv);
    return answers.map((existing): Reservation => {
      if (existing === '') return { reserved: true };
      const [fp = '', firstId = ''] = existing.split(' ');
      return { reserved: false, fingerprint: fp, id: firstId };
    });
  }

  async function write(
    kind: TrackedKind,
    updates: readonly StatusUpdate[],
    final: '0' | '1',
  ): Promise<boolean[]> {
    if (updates.length === 0) return [];
    const keys = updates.map((u) => statusKey(kind, u.id));
    const argv = updates.flatMap((u) => [u.status, JSON.stringify(u.view)]);
    const written = await lua.trackTransitionMany(keys.length, ...keys, ttl, final, ...argv);
    return written.map((w) => w === 1);
  }

  return {
    /** The connection the store uses (shared with whoever created it). */
    redis,

    /**
     * Claims each request's idempotency key for its id and records its PENDING view, atomically
     * per request, in one script. A key claimed before answers who claimed it instead.
     */
    reserveMany,

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
      const [applied] = await write(kind, [{ id, status, view }], '0');
      return applied === true;
    },

    /** {@link transition} for many records of one kind in one script; answers in order. */
    async transitionMany(kind: TrackedKind, updates: readonly StatusUpdate[]): Promise<boolean[]> {
      return write(kind, updates, '0');
    },

    /** Records final views (of one kind, in one script); each replaces whatever was there. */
    async publishFinalMany(kind: TrackedKind, updates: readonly StatusUpdate[]): Promise<void> {
      await write(kind, updates, '1');
    },
  };
}

export type TrackingStore = ReturnType<typeof createTrackingStore>;
