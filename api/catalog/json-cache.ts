import type { RedisClient } from '../../shared/redis';

export interface JsonCacheOptions {
  redis: RedisClient;
  /** Redis key prefix (the process's REDIS_PREFIX plus a namespace). */
  keyPrefix: string;
  /** How long this process serves an entry without asking again. */
  localTtlMs: number;
  /** How long the shared Redis copy lives. local + redis TTL bound the staleness. */
  redisTtlMs: number;
  /** Entries kept in this process (oldest dropped first). */
  maxEntries?: number;
  /**
   * While the loader fails (database down), an entry this process holds is served for this
   * long after it was last known fresh, with its age; after that the loader's error stands.
   */
  staleIfErrorMs: number;
}

/** A cached body; `ageSeconds` is set when it is served stale because its loader failed. */
export interface CachedJson {
  json: string;
  ageSeconds: number | null;
}

/** What a loader returns for "does not exist": cached too, so unknown ids cannot hammer MySQL. */
export const MISSING = 'null';

interface Entry {
  cached: CachedJson;
  /** When it was last read from the loader or the shared Redis copy. */
  loadedAt: number;
  freshUntil: number;
}

/**
 * Pre-serialised JSON, two levels: a Map in this process, then Redis shared by all API
 * processes, then the loader (MySQL). Concurrent misses for one key share a single load (no
 * stampede). When the loader fails (database down), an entry of this process is served stale,
 * with its age, for at most `staleIfErrorMs` (the contract's CATALOG_STALE_IF_ERROR_S).
 */
export function createJsonCache(options: JsonCacheOptions) {
  const { redis, keyPrefix, localTtlMs, redisTtlMs, staleIfErrorMs } = options;
  const maxEntries = options.maxEntries ?? 10_000;
  const local = new Map<string, Entry>();
  const loading = new Map<string, Promise<CachedJson>>();
  /**
   * Keys written by {@link put} while a load of them was in flight: that load read the value
   * from before the write, so its result must not replace the written one.
   */
  const overtaken = new Set<string>();

  const remember = (key: string, json: string): CachedJson => {
    local.delete(key);
    const now = Date.now();
    local.set(key, {
      cached: { json, ageSeconds: null },
      loadedAt: now,
      freshUntil: now + localTtlMs,
    });
    if (local.size > maxEntries) {
      const oldest = local.keys().next();
      if (!oldest.done) local.delete(oldest.value);
    }
    return (local.get(key) as Entry).cached;
  };

  /** What this process holds fresh for `key` (MISSING included); never loads. */
  function fresh(key: string): CachedJson | undefined {
    const entry = local.get(key);
    return entry && entry.freshUntil > Date.now() ? entry.cached : undefined;
  }

  async function load(
    key: string,
    loader: () => Promise<unknown>,
    useShared: boolean,
  ): Promise<CachedJson> {
    const shared = useShared ? await redis.get(keyPrefix + key).catch(() => null) : null;
    const written = () => (overtaken.delete(key) ? fresh(key) : undefined);
    if (shared !== null) return written() ?? remember(key, shared);
    try {
      const value = await loader();
      const held = written();
      if (held !== undefined) return held;
      const json = value === null ? MISSING : JSON.stringify(value);
      redis.set(keyPrefix + key, json, 'PX', redisTtlMs).catch(() => undefined);
      return remember(key, json);
    } catch (error) {
      const held = written();
      if (held !== undefined) return held;
      const stale = local.get(key);
      const ageMs = stale ? Date.now() - stale.loadedAt : Infinity;
      if (stale && ageMs <= staleIfErrorMs) {
        return { json: stale.cached.json, ageSeconds: Math.floor(ageMs / 1_000) };
      }
      throw error;
    }
  }

  return {
    /**
     * The JSON for `key` (or {@link MISSING}), and its age if served stale. With `useShared`
     * false a miss skips the Redis copy (it may predate a change this process made) and
     * loads, then replaces that copy.
     */
    get(
      key: string,
      loader: () => Promise<unknown>,
      useShared = true,
    ): Promise<CachedJson> | CachedJson {
      const held = fresh(key);
      if (held !== undefined) return held;
      let pending = loading.get(key);
      if (!pending) {
        pending = load(key, loader, useShared).finally(() => {
          loading.delete(key);
        });
        loading.set(key, pending);
      }
      return pending;
    },

    /** The JSON for `key` if this process holds it fresh (MISSING included); never loads. */
    peek: (key: string): string | undefined => fresh(key)?.json,

    /**
     * Holds `json` as `key`'s value here and in Redis, as a load would have: for a value this
     * process has just written to the database and read back from it.
     */
    async put(key: string, json: string): Promise<void> {
      if (loading.has(key)) overtaken.add(key);
      remember(key, json);
      await redis.set(keyPrefix + key, json, 'PX', redisTtlMs).catch(() => undefined);
    },

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
