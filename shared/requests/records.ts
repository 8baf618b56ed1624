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
 * - `<prefix>:open:<kind>` → sorted set of the ids accepted and not yet final, scored by their
 *   accept time (ms): the reconcile counts requests stuck in it.
 * - `<prefix>:open:<kind>:<userId>` → the same, per user: a user's order list shows the orders
 *   accepted but not yet recorded by a worker. Ties in score sort by id, which is what the
 *   order list's keyset (createdAt, id) needs.
 *
 * Records and per-user sets live {@link RECORD_TTL_SECONDS}; afterwards status reads fall back
 * to the database. A final view removes its id from both open sets in the same script.
 */
export const RECORD_TTL_SECONDS = 48 * 3_600;

export type RequestKind = 'order' | 'charge';

export type Reservation =
  | { reserved: true }
  /** The key was new but new work is refused (admission control): nothing was written. */
  | { reserved: false; refused: true }
  | { reserved: false; refused?: false; fingerprint: string; id: string };

export interface StatusRecord {
  status: string;
  view: string;
}

// Many requests in one call (an accept batch): one round trip and one script run instead of
// one per request. KEYS per request i (4 each): idem key, status key, open set, user's open set.
// ARGV: ttl, then per request fingerprint, id, pending view, accept time (ms), refuse ('1'/'0').
// Per request: '' if it claimed its key (PENDING record written, id added to the open sets),
// 'R' if the key was new but the request is refused, else the first claim's `<fingerprint> <id>`
// — a replay is answered even while new work is refused.
const RESERVE_MANY = `
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
const TRANSITION_MANY = `
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
  kind: RequestKind;
  userId: number;
  key: string;
  fingerprint: string;
  id: string;
  /** When it was accepted: its place in the open sets. */
  acceptedAt: string;
  pendingView: object;
  /**
   * New work is refused (admission control): only answer whether the key was used before, so
   * a replay still gets its first answer; write nothing.
   */
  refuse?: boolean;
}

/** One status record to write. */
export interface StatusUpdate {
  id: string;
  userId: number;
  /** When the request was accepted (its place in the open sets). */
  acceptedAt: string;
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

export function createRequestRecords(redis: Redis, prefix: string) {
  const lua = scripted(redis);
  const idemKey = (kind: RequestKind, userId: number, key: string) =>
    `${prefix}:idem:${kind}:${userId}:${createHash('sha256').update(key).digest('hex')}`;
  const statusKey = (kind: RequestKind, id: string) => `${prefix}:status:${kind}:${id}`;
  const openKey = (kind: RequestKind) => `${prefix}:open:${kind}`;
  const userOpenKey = (kind: RequestKind, userId: number) => `${prefix}:open:${kind}:${userId}`;
  const ttl = String(RECORD_TTL_SECONDS);

  /** Claims many idempotency keys in one atomic script; answers in request order. */
  async function reserveMany(requests: readonly ReserveRequest[]): Promise<Reservation[]> {
    const keys = requests.flatMap((r) => [
      idemKey(r.kind, r.userId, r.key),
      statusKey(r.kind, r.id),
      openKey(r.kind),
      userOpenKey(r.kind, r.userId),
    ]);
    const argv = requests.flatMap((r) => [
      r.fingerprint,
      r.id,
      JSON.stringify(r.pendingView),
      String(Date.parse(r.acceptedAt)),
      r.refuse === true ? '1' : '0',
    ]);
    const answers = await lua.trackReserveMany(keys.length, ...keys, ttl, ...argv);
    return answers.map((existing): Reservation => {
      if (existing === '') return { reserved: true };
      if (existing === 'R') return { reserved: false, refused: true };
      const [fp = '', firstId = ''] = existing.split(' ');
      return { reserved: false, fingerprint: fp, id: firstId };
    });
  }

  async function write(
    kind: RequestKind,
    updates: readonly StatusUpdate[],
    final: '0' | '1',
  ): Promise<boolean[]> {
    if (updates.length === 0) return [];
    const keys = updates.flatMap((u) => [
      statusKey(kind, u.id),
      openKey(kind),
      userOpenKey(kind, u.userId),
    ]);
    const argv = updates.flatMap((u) => [
      u.status,
      JSON.stringify(u.view),
      u.id,
      String(Date.parse(u.acceptedAt)),
    ]);
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

    async get(kind: RequestKind, id: string): Promise<StatusRecord | null> {
      const [status, view] = await redis.hmget(statusKey(kind, id), 'status', 'view');
      return status && view ? { status, view } : null;
    },

    /** {@link get} for many ids in one round trip; null where there is no record. */
    async getMany(kind: RequestKind, ids: readonly string[]): Promise<(StatusRecord | null)[]> {
      if (ids.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ids) pipeline.hmget(statusKey(kind, id), 'status', 'view');
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, reply]) => {
        if (error) throw error;
        const [status, view] = reply as (string | null)[];
        return status && view ? { status, view } : null;
      });
    },

    /** Whether this user's idempotency key has been used before (a request would replay). */
    async isKeyUsed(kind: RequestKind, userId: number, key: string): Promise<boolean> {
      return (await redis.exists(idemKey(kind, userId, key))) === 1;
    },

    /**
     * A user's accepted requests that are not final, newest first (accept time, then id,
     * descending), strictly after the keyset position `before` if given.
     */
    async openForUser(
      kind: RequestKind,
      userId: number,
      before: { ms: number; id: string } | null,
      limit: number,
    ): Promise<string[]> {
      const key = userOpenKey(kind, userId);
      if (!before) return redis.zrevrangebyscore(key, '+inf', '-inf', 'LIMIT', 0, limit);
      // Same accept time as the cursor: only smaller ids; then strictly older.
      const [tied, older] = await Promise.all([
        redis.zrevrangebyscore(key, before.ms, before.ms),
        redis.zrevrangebyscore(key, `(${before.ms}`, '-inf', 'LIMIT', 0, limit),
      ]);
      return [...tied.filter((id) => id < before.id), ...older].slice(0, limit);
    },

    /** Ids accepted before `cutoffMs` (unix ms) that are still not final, oldest first. */
    async openBefore(kind: RequestKind, cutoffMs: number, limit: number): Promise<string[]> {
      return redis.zrangebyscore(openKey(kind), '-inf', `(${cutoffMs}`, 'LIMIT', 0, limit);
    },

    /** How many ids accepted before `cutoffMs` (unix ms) are still not final. */
    async countOpenBefore(kind: RequestKind, cutoffMs: number): Promise<number> {
      return redis.zcount(openKey(kind), '-inf', `(${cutoffMs}`);
    },

    /**
     * One page of {@link openBefore} with accept times, oldest first, strictly after the keyset
     * position `after` (accept time, then id: what the set's own order is): removals between
     * pages, such as a final view published meanwhile, never make a page skip an id.
     */
    async openPageBefore(
      kind: RequestKind,
      cutoffMs: number,
      after: { ms: number; id: string } | null,
      limit: number,
    ): Promise<{ id: string; ms: number }[]> {
      const key = openKey(kind);
      const pairs = (flat: string[]) => {
        const out: { id: string; ms: number }[] = [];
        for (let i = 0; i + 1 < flat.length; i += 2) {
          out.push({ id: flat[i] ?? '', ms: Number(flat[i + 1]) });
        }
        return out;
      };
      if (!after) {
        return pairs(
          await redis.zrangebyscore(key, '-inf', `(${cutoffMs}`, 'WITHSCORES', 'LIMIT', 0, limit),
        );
      }
      // Same accept time as the position: only larger ids; then strictly newer.
      const [tied, newer] = await Promise.all([
        redis.zrangebyscore(key, after.ms, after.ms, 'WITHSCORES'),
        redis.zrangebyscore(key, `(${after.ms}`, `(${cutoffMs}`, 'WITHSCORES', 'LIMIT', 0, limit),
      ]);
      return [
        ...pairs(tied).filter((e) => e.id > after.id && e.ms < cutoffMs),
        ...pairs(newer),
      ].slice(0, limit);
    },

    /** Records a non-final state (PROCESSING, ON_HOLD, PENDING again) unless already final. */
    async transition(kind: RequestKind, update: StatusUpdate): Promise<boolean> {
      const [applied] = await write(kind, [update], '0');
      return applied === true;
    },

    /** {@link transition} for many records of one kind in one script; answers in order. */
    async transitionMany(kind: RequestKind, updates: readonly StatusUpdate[]): Promise<boolean[]> {
      return write(kind, updates, '0');
    },

    /** Records final views (of one kind, in one script); each replaces whatever was there. */
    async publishFinalMany(kind: RequestKind, updates: readonly StatusUpdate[]): Promise<void> {
      await write(kind, updates, '1');
    },
  };
}

export type RequestRecords = ReturnType<typeof createRequestRecords>;
