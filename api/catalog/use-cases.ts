import type { RedisClient } from '../../shared/redis';
import {
  computeTopSellers,
  topSellersKey,
  type TopProducts,
} from '../../shared/catalog/top-sellers';
import type { ProductDetail, ProductsRepository } from '../../shared/db/repositories/products';
import { AppError } from '../../shared/errors';
import type { Logger } from '../../shared/logger';
import { startChangeFeed } from './change-feed';
import { encodeCursor } from './cursor';
import { createJsonCache, MISSING, type CachedJson } from './json-cache';

/** The contract allows the ranking to be 60 s stale; workers refresh it every 30 s. */
const TOP_MAX_AGE_MS = 60_000;

/** The change feed's look-back on the primary; see `overlapMs` in change-feed.ts. */
const FEED_OVERLAP_MS = 6_000;

/**
 * The cache's two TTLs (this process, then Redis). Their sum bounds how stale a view can get
 * even if the change feed missed a change: 2 s + 2.5 s keeps stock under the contract's 5 s.
 * Read from a replica, a view is older by up to the replica's lag when it is loaded, so the
 * TTLs shrink by that bound (never below 1 s in all: a lag bound over 3 s loosens the 5 s,
 * docs/scale-out.md#read-replicas).
 */
export function cacheTtls(sourceLagBoundMs: number): { localTtlMs: number; redisTtlMs: number } {
  const total = Math.max(1_000, 4_500 - sourceLagBoundMs);
  const localTtlMs = Math.round((total * 4) / 9);
  return { localTtlMs, redisTtlMs: total - localTtlMs };
}

/** A product as `GET /api/products/:productId` answers it. */
export function productView(product: ProductDetail) {
  return {
    id: product.id,
    name: product.name,
    description: product.description,
    price: product.price,
    stock: product.stock,
    updatedAt: product.updatedAt.toISOString(),
  };
}

export type ProductView = ReturnType<typeof productView>;

export interface CatalogDeps {
  /** The catalog's reads: the primary's, or a catalog source's that may read a replica. */
  products: ProductsRepository;
  /**
   * How far behind the primary `products` may read: 0 for the primary (the default), a
   * replica's lag bound otherwise (`CatalogSource.maxStalenessMs`).
   */
  sourceLagBoundMs?: number;
  redis: RedisClient;
  prefix: string;
  logger: Logger;
  /** How long the last known view may be served while the database is unreachable. */
  staleIfErrorS: number;
}

/**
 * Catalog reads, served as pre-serialised JSON from a two-level cache (this process, then
 * Redis) in front of MySQL (the primary, or a read replica while it keeps up). A change feed
 * drops changed products within about a second of the change reaching the source it reads; the
 * TTLs alone bound staleness to under the contract's 5 s for stock ({@link cacheTtls}).
 * Correctness never depends on this cache: orders read and lock the primary.
 */
export function createCatalog(deps: CatalogDeps) {
  const { products, redis, prefix, logger, staleIfErrorS } = deps;
  const sourceLagBoundMs = deps.sourceLagBoundMs ?? 0;
  const cache = createJsonCache({
    redis,
    keyPrefix: `${prefix}:catalog:`,
    ...cacheTtls(sourceLagBoundMs),
    staleIfErrorMs: staleIfErrorS * 1_000,
  });
  const feed = startChangeFeed({
    changedSince: (since) => products.changedSince(since),
    // A poll may go to a replica that is up to its lag bound behind the primary, and the next
    // to the primary, or the other way round: looking back further by that bound catches on
    // the replica every change stamped since the last poll, whichever source that poll read.
    overlapMs: FEED_OVERLAP_MS + sourceLagBoundMs,
    onChange: async (ids) => {
      cache.evictLocal('list:');
      await cache.evict(ids.map((id) => `product:${id}`));
    },
    logger,
  });
  /** Until then list pages skip the shared Redis copies, which may predate this process's write. */
  let listsFromSourceUntil = 0;

  let top: { json: string; at: number } | undefined;
  let topLoading: Promise<string> | undefined;
  async function loadTop(): Promise<string> {
    const shared = await redis.get(topSellersKey(prefix)).catch(() => null);
    if (shared !== null) {
      const { generatedAt } = JSON.parse(shared) as TopProducts;
      if (Date.now() - Date.parse(generatedAt) < TOP_MAX_AGE_MS) return shared;
    }
    // No worker has precomputed it (recently): compute here, once per process at a time.
    return JSON.stringify(await computeTopSellers(products));
  }

  return {
    list(afterId: number, limit: number): Promise<CachedJson> | CachedJson {
      return cache.get(
        `list:${afterId}:${limit}`,
        async () => {
          // One extra row tells whether another page exists without a COUNT.
          const rows = await products.listAfter(afterId, limit + 1);
          const items = rows.slice(0, limit);
          const last = items.at(-1);
          return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.id) : null };
        },
        Date.now() >= listsFromSourceUntil,
      );
    },

    async get(id: number): Promise<CachedJson> {
      const cached = await cache.get(`product:${id}`, async () => {
        const product = await products.findById(id);
        return product ? productView(product) : null;
      });
      if (cached.json === MISSING) {
        throw new AppError('PRODUCT_NOT_FOUND', { detail: `No product ${id}` });
      }
      return cached;
    },

    /** A product's JSON when this process holds it fresh (the hot read path); never loads. */
    cachedProduct(id: number): string | undefined {
      const json = cache.peek(`product:${id}`);
      return json === MISSING ? undefined : json;
    },

    top(): Promise<string> | string {
      if (top && Date.now() - top.at < 5_000) return top.json;
      topLoading ??= loadTop()
        .then((json) => {
          top = { json, at: Date.now() };
          return json;
        })
        .finally(() => {
          topLoading = undefined;
        });
      return topLoading;
    },

    /**
     * A product this process has just written (an operator's create, change or restock), as
     * read back from the primary: this process shows it at once — its detail here and in
     * Redis, its list pages reloaded from the database for as long as a shared copy may
     * predate it. Other processes' change feeds drop their copies within about a second. A
     * rename also drops the best sellers' copies, which carry product names. Never fails:
     * Redis being down only leaves the shared copies to expire.
     */
    async changed(product: ProductView, renamed: boolean): Promise<void> {
      listsFromSourceUntil = Date.now() + cacheTtls(sourceLagBoundMs).redisTtlMs;
      cache.evictLocal('list:');
      await cache.put(`product:${product.id}`, JSON.stringify(product));
      if (renamed) {
        top = undefined;
        await redis.del(topSellersKey(prefix)).catch(() => undefined);
      }
    },

    stop(): void {
      feed.stop();
    },
  };
}

export type Catalog = ReturnType<typeof createCatalog>;
