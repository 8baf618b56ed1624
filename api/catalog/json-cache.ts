import type { Redis } from 'ioredis';

export interface JsonCacheOptions {
  redis: Redis;
  /** Redis key prefix (the process's REDIS_PREFIX plus a namespace). */
  keyPrefix: string;
  /** How long this process serves an entry without asking again. */
  localTtlMs: number;
  /** How long the shared Redis copy lives. local + redis TTL bound the staleness. */
  redisTtlMs: number;
  /** Entries kept in this process (oldest dropped first). */
  maxEntries?: number;
}

/** What a loader returns for "does not exist": cached too, so unknown ids cannot hammer MySQL. */
export const MISSING = 'null';

interface Entry {
  json: string;
  freshUntil: number;
}

/**
 * Pre-serialised JSON, two levels: a Map in this process, then Redis shared by all API
 * processes, then the loader (MySQL). Concurrent misses for one key share a single load (no
 * stampede). When the loader fails (database down), a stale entry is served rather than an
 * error.
 */
export function createJsonCache(options: JsonCacheOptions) {
  const { redis, keyPrefix, localTtlMs, redisTtlMs } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const local = new Map<string, Entry>();
  const loading = new Map<string, Promise<string>>();

  const remember = (key: string, json: string) => {
    local.delete(key);
    local.set(key, { json, freshUntil: Date.now() + localTtlMs });
    if (local.size > maxEntries) {
      const oldest = local.keys().next();
      if (!oldest.done) local.delete(oldest.value);
    }
  };

  /** The JSON for `key` if this process holds it fresh (MISSING included); never loads. */
  function peek(key: string): string | undefined {
    const entry = local.get(key);
    return entry && entry.freshUntil > Date.now() ? entry.json : undefined;
  }

  async function load(key: string, loader: () => Promise<unknown>): Promise<string> {
    const shared = await redis.get(keyPrefix + key).catch(() => null);
    if (shared !== null) {
      remember(key, shared);
      return shared;
    }
    try {
      const value = await loader();
      const json = value === null ? MISSING : JSON.stringify(value);
      remember(key, json);
      redis.set(keyPrefix + key, json, 'PX', redisTtlMs).catch(() => undefined);
      return json;
    } catch (error) {
      const stale = local.get(key);
      if (stale) return stale.json;
      throw error;
    }
  }

  return {
    /** The JSON for `key`, or {@link MISSING}. */
    get(key: string, loader: () => Promise<unknown>): Promise<string> | string {
      const fresh = peek(key);
      if (fresh !== undefined) return fresh;
      let pending = loading.get(key);
      if (!pending) {
        pending = load(key, loader).finally(() => {
          loading.delete(key);
        });
        loading.set(key, pending);
      }
      return pending;
    },

    peek,

    /** Drops keys here and in Redis (other processes drop theirs through their own feed). */
    async evict(keys: string[]): Promise<void> {
      if (keys.length === 0) return;
      for (const key of keys) local.delete(key);
      await redis.del(...keys.map((k) => keyPrefix + k)).catch(() => undefined);
    },

    /** Drops every local key starting with `start` (e.g. all list pages). */
    evictLocal(start: string): void {
      for (const key of local.keys()) if (key.startsWith(start)) local.delete(key);
    },
  };
}

export type JsonCache = ReturnType<typeof createJsonCache>;
