import { hash } from 'node:crypto';
import { layoutOf } from '../keyspace';
import type { QueueLayoutSource } from '../queues';
import type { RedisClient } from '../redis';
import { scripted, type ScriptedRedis } from './scripts';

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

/** The kinds of accepted requests: orders, charges and order cancellations. */
export type RequestKind = 'order' | 'charge' | 'cancel';

export type Reservation =
  | { reserved: true }
  /** The key was new but new work is refused (admission control): nothing was written. */
  | { reserved: false; refused: 'admission' }
  /** The key was new but the user's rolling window is full: nothing was written. */
  | { reserved: false; refused: 'rate'; retryAfterMs: number }
  /** The key was used before: the first request's fingerprint, id and stored answer. */
  | { reserved: false; refused?: undefined; fingerprint: string; id: string; answer: string };

/** Per-user rate limit of accepts (`RATE_LIMIT_PER_MINUTE`): `perWindow` 0 is off. */
export interface RateLimit {
  perWindow: number;
  windowMs: number;
}

export const NO_RATE_LIMIT: RateLimit = { perWindow: 0, windowMs: 60_000 };

/** `<fingerprint> <id>[ <answer>]`, as the reserve script stores a key's first use. */
function firstUseOf(stored: string): Reservation {
  const [fp = '', firstId = '', answer = ''] = stored.split(' ');
  return { reserved: false, fingerprint: fp, id: firstId, answer };
}

export interface StatusRecord {
  status: string;
  view: string;
  /** The request's own Idempotency-Key (recorded at accept; a cancellation needs the order's). */
  key?: string;
}

/** One request to reserve: its idempotency key's first use claims `id`. */
export interface ReserveRequest {
  kind: RequestKind;
  userId: number;
  key: string;
  fingerprint: string;
  id: string;
  /** When it was accepted (unix ms): its place in the open sets. */
  acceptedAtMs: number;
  pendingView: object;
  /**
   * New work is refused (admission control): only answer whether the key was used before, so
   * a replay still gets its first answer; write nothing.
   */
  refuse?: boolean;
  /** Stored with the key and given back to replays (e.g. the status a first answer showed). */
  answer?: string;
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

/**
 * SHA-256 of JSON with object keys sorted at every depth: key order does not matter. The text
 * is what `JSON.stringify` writes for the same value with its keys sorted (a stored
 * fingerprint must keep matching across versions), built in one pass and hashed with the
 * one-shot `hash` (a `Hash` object per accept cost more than the JSON: load/REPORT.md,
 * "Change: the accept's own steps").
 */
export function fingerprint(body: unknown): string {
  const text = canonicalJson(body);
  if (text === undefined) throw new TypeError('a fingerprint needs a JSON value');
  return hash('sha256', text, 'hex');
}

/**
 * What `JSON.stringify` writes for a copy of `value` with every object's own keys sorted (the
 * copy has no `toJSON`); undefined where it writes nothing.
 */
export function canonicalJson(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      out += `${i === 0 ? '' : ','}${canonicalJson(value[i]) ?? 'null'}`;
    }
    return `${out}]`;
  }
  let out = '{';
  for (const key of sortedKeys(value)) {
    const member = canonicalJson((value as Record<string, unknown>)[key]);
    if (member === undefined) continue;
    out += `${out === '{' ? '' : ','}${JSON.stringify(key)}:${member}`;
  }
  return `${out}}`;
}

/**
 * An object's keys in the order its sorted copy lists them: JavaScript lists integer-like keys
 * ("0", "17") first, in numeric order, whatever order they were added in; then the others.
 */
function sortedKeys(value: object): string[] {
  const keys = Object.keys(value);
  // Most bodies list their keys in order already: sorting them anyway allocates per object.
  if (!inOrder(keys)) keys.sort();
  if (!keys.some(isArrayIndex)) return keys;
  const indices = keys.filter(isArrayIndex).sort((a, b) => Number(a) - Number(b));
  return [...indices, ...keys.filter((key) => !isArrayIndex(key))];
}

/** Whether `keys` are in the order `sort()` gives them (UTF-16 code units, as `<` compares). */
function inOrder(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) {
    if ((keys[i - 1] as string) > (keys[i] as string)) return false;
  }
  return true;
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;
const isArrayIndex = (key: string) => ARRAY_INDEX.test(key) && Number(key) < 2 ** 32 - 1;

/** A WITHSCORES reply as ids with their accept times. */
function pairs(flat: string[]): { id: string; ms: number }[] {
  const out: { id: string; ms: number }[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2)
    out.push({ id: flat[i] ?? '', ms: Number(flat[i + 1]) });
  return out;
}

/**
 * The records of one partition (`base`: its key prefix, hash tag included): every key a script
 * or pipeline touches here shares the partition's slot.
 */
function partRecords(redis: RedisClient, lua: ScriptedRedis, base: string) {
  const prefix = base;
  const idemKey = (kind: RequestKind, userId: number, key: string) =>
    `${prefix}:idem:${kind}:${userId}:${hash('sha256', key, 'hex')}`;
  const statusKey = (kind: RequestKind, id: string) => `${prefix}:status:${kind}:${id}`;
  const openKey = (kind: RequestKind) => `${prefix}:open:${kind}`;
  const userOpenKey = (kind: RequestKind, userId: number) => `${prefix}:open:${kind}:${userId}`;
  const ttl = String(RECORD_TTL_SECONDS);

  /** Claims many idempotency keys in one atomic script; answers in request order. */
  async function reserveMany(
    requests: readonly ReserveRequest[],
    rate: RateLimit = NO_RATE_LIMIT,
  ): Promise<Reservation[]> {
    const keys = requests.flatMap((r) => [
      idemKey(r.kind, r.userId, r.key),
      statusKey(r.kind, r.id),
      openKey(r.kind),
      userOpenKey(r.kind, r.userId),
      // Every accept of a user counts in one window, whatever its kind.
      `${prefix}:rate:${r.userId}`,
    ]);
    const argv = requests.flatMap((r) => [
      r.fingerprint,
      r.id,
      JSON.stringify(r.pendingView),
      String(r.acceptedAtMs),
      r.refuse === true ? '1' : '0',
      r.answer ?? '',
      r.key,
    ]);
    const answers = await lua.trackReserveMany(
      keys.length,
      ...keys,
      ttl,
      String(rate.perWindow),
      String(rate.windowMs),
      ...argv,
    );
    return answers.map((existing): Reservation => {
      if (existing === '') return { reserved: true };
      if (existing === 'R') return { reserved: false, refused: 'admission' };
      if (existing.startsWith('L ')) {
        return { reserved: false, refused: 'rate', retryAfterMs: Number(existing.slice(2)) };
      }
      return firstUseOf(existing);
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
    /** The partition's key prefix. */
    base,

    /**
     * Claims each request's idempotency key for its id and records its PENDING view, atomically
     * per request, in one script. A key claimed before answers who claimed it instead.
     */
    reserveMany,

    async get(kind: RequestKind, id: string): Promise<StatusRecord | null> {
      const [status, view, key] = await redis.hmget(statusKey(kind, id), 'status', 'view', 'key');
      return status && view ? { status, view, ...(key ? { key } : {}) } : null;
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
     * A user's accepted requests that are not final, with their accept times, newest first
     * (accept time, then id, descending), strictly after the keyset position `before` if given.
     */
    async openForUser(
      kind: RequestKind,
      userId: number,
      before: { ms: number; id: string } | null,
      limit: number,
    ): Promise<{ id: string; ms: number }[]> {
      const key = userOpenKey(kind, userId);
      if (!before) {
        return pairs(
          await redis.zrevrangebyscore(key, '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, limit),
        );
      }
      // Same accept time as the cursor: only smaller ids; then strictly older.
      const [tied, older] = await Promise.all([
        redis.zrevrangebyscore(key, before.ms, before.ms, 'WITHSCORES'),
        redis.zrevrangebyscore(key, `(${before.ms}`, '-inf', 'WITHSCORES', 'LIMIT', 0, limit),
      ]);
      return [...pairs(tied).filter((e) => e.id < before.id), ...pairs(older)].slice(0, limit);
    },

    /** The first use of a user's key, as {@link reserveMany} answers it; undefined if unused. */
    async firstUse(
      kind: RequestKind,
      userId: number,
      key: string,
    ): Promise<Reservation | undefined> {
      const existing = await redis.get(idemKey(kind, userId, key));
      return existing === null ? undefined : firstUseOf(existing);
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

export type PartRecords = ReturnType<typeof partRecords>;

/**
 * The records of accepted requests, over every partition (`shared/keyspace.ts`): a user's
 * requests live in the user's partition; while re-partitioning, what was recorded under the
 * previous layout is still found (reads and replays) and its partitions still served.
 */
export function createRequestRecords(redis: RedisClient, source: QueueLayoutSource) {
  const lua = scripted(redis);
  const { current, previous } = layoutOf(source);
  const parts = new Map<string, PartRecords>();
  const part = (base: string): PartRecords => {
    let found = parts.get(base);
    if (!found) {
      found = partRecords(redis, lua, base);
      parts.set(base, found);
    }
    return found;
  };
  const forUser = (userId: number) => part(current.partition(current.partitionOf(userId)));
  const previousOf = (userId: number) =>
    previous ? part(previous.partition(previous.partitionOf(userId))) : undefined;

  return {
    /** The connection the records use (shared with whoever created it). */
    redis,
    /** The configured key layout. */
    keyspace: current,

    /** The records of the partition whose key prefix is `base` (a queue's, a job's). */
    part,

    /** Every partition: the configured layout's, then the previous layout's. */
    parts: (): PartRecords[] => [
      ...current.all.map((p) => part(current.partition(p))),
      ...(previous ? previous.all.map((p) => part(previous.partition(p))) : []),
    ],

    /** The records of the partition a user's new requests go to. */
    forUser,

    /**
     * {@link PartRecords.reserveMany} for requests of one user partition. While
     * re-partitioning, a key first used under the previous layout answers as a replay.
     */
    async reserveMany(
      requests: readonly ReserveRequest[],
      rate: RateLimit = NO_RATE_LIMIT,
    ): Promise<Reservation[]> {
      const [first] = requests;
      if (!first) return [];
      const target = forUser(first.userId);
      if (requests.some((r) => forUser(r.userId) !== target)) {
        throw new Error('reserveMany takes the requests of one partition');
      }
      if (!previous) return target.reserveMany(requests, rate);
      const earlier = await Promise.all(
        requests.map(
          (r) =>
            previousOf(r.userId)?.firstUse(r.kind, r.userId, r.key) ?? Promise.resolve(undefined),
        ),
      );
      const fresh = requests.filter((_, i) => earlier[i] === undefined);
      const reserved = fresh.length > 0 ? await target.reserveMany(fresh, rate) : [];
      let next = 0;
      return requests.map((_, i) => earlier[i] ?? (reserved[next++] as Reservation));
    },

    /** A request's status record: the user's partition, else the previous layout's. */
    async get(kind: RequestKind, userId: number, id: string): Promise<StatusRecord | null> {
      return (
        (await forUser(userId).get(kind, id)) ?? (await previousOf(userId)?.get(kind, id)) ?? null
      );
    },

    /** {@link get} for many ids of one user; null where there is no record. */
    async getMany(
      kind: RequestKind,
      userId: number,
      ids: readonly string[],
    ): Promise<(StatusRecord | null)[]> {
      const found = await forUser(userId).getMany(kind, ids);
      const before = previousOf(userId);
      if (!before || found.every((r) => r !== null)) return found;
      const again = await before.getMany(kind, ids);
      return found.map((r, i) => r ?? again[i] ?? null);
    },

    /** Whether this user's idempotency key has been used before (a request would replay). */
    async isKeyUsed(kind: RequestKind, userId: number, key: string): Promise<boolean> {
      if (await forUser(userId).isKeyUsed(kind, userId, key)) return true;
      return (await previousOf(userId)?.isKeyUsed(kind, userId, key)) === true;
    },

    /** {@link PartRecords.openForUser} over both layouts while re-partitioning. */
    async openForUser(
      kind: RequestKind,
      userId: number,
      before: { ms: number; id: string } | null,
      limit: number,
    ): Promise<{ id: string; ms: number }[]> {
      const mine = await forUser(userId).openForUser(kind, userId, before, limit);
      const earlier = previousOf(userId);
      if (!earlier) return mine;
      const theirs = await earlier.openForUser(kind, userId, before, limit);
      return [...mine, ...theirs]
        .sort((a, b) => b.ms - a.ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
        .slice(0, limit);
    },
  };
}

export type RequestRecords = ReturnType<typeof createRequestRecords>;
