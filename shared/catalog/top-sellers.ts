import type { RedisClient } from '../redis';
import type { ProductsRepository } from '../db/repositories/products';

export const TOP_WINDOW_HOURS = 72;
export const TOP_LIMIT = 5;
/** How often the workers recompute the ranking (the contract allows it 60 s of staleness). */
export const TOP_PERIOD_MS = 30_000;
/**
 * Hours of sales sums the refresh keeps: the window and a day of margin, so a clock a little
 * ahead of the database's never prunes an hour the reconcile still compares.
 */
export const SALES_KEPT_HOURS = TOP_WINDOW_HOURS + 24;

export interface TopProducts {
  windowHours: number;
  generatedAt: string;
  products: {
    rank: number;
    productId: number;
    name: string;
    soldQuantity: number;
    revenue: number;
  }[];
}

/**
 * The ranking of PAID orders of the last 72 h: the hourly sales sums, and the PAID orders of
 * the window's first, partial hour.
 */
export async function computeTopSellers(
  products: Pick<ProductsRepository, 'topSellers'>,
): Promise<TopProducts> {
  const generatedAt = Date.now();
  const rows = await products.topSellers(
    new Date(generatedAt - TOP_WINDOW_HOURS * 3_600_000),
    TOP_LIMIT,
  );
  return {
    windowHours: TOP_WINDOW_HOURS,
    generatedAt: new Date(generatedAt).toISOString(),
    products: rows.map((row, index) => ({ rank: index + 1, ...row })),
  };
}

/** Where the precomputed ranking lives, shared by every process. */
export const topSellersKey = (prefix: string) => `${prefix}:catalog:top-sellers`;

/**
 * Recomputes the ranking into Redis, then drops the sales sums older than
 * {@link SALES_KEPT_HOURS}. Several worker processes may call this on the same schedule: a
 * short Redis lock lets one of them do it per period.
 */
export async function refreshTopSellers(
  redis: RedisClient,
  prefix: string,
  products: Pick<ProductsRepository, 'topSellers'>,
  pruneSales: (before: Date) => Promise<void>,
  periodMs: number,
): Promise<boolean> {
  const claimed = await redis.set(
    `${topSellersKey(prefix)}:lock`,
    '1',
    'PX',
    Math.max(1_000, periodMs - 500),
    'NX',
  );
  if (claimed !== 'OK') return false;
  const top = await computeTopSellers(products);
  await redis.set(topSellersKey(prefix), JSON.stringify(top), 'PX', periodMs * 4);
  await pruneSales(new Date(Date.now() - SALES_KEPT_HOURS * 3_600_000));
  return true;
}
