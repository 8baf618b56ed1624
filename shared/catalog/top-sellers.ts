import type { RedisClient } from '../redis';
import type { ProductsRepository } from '../db/repositories/products';

export const TOP_WINDOW_HOURS = 72;
export const TOP_LIMIT = 5;

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

/** The ranking, aggregated from PAID orders of the last 72 h (index orders_status_paid). */
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
 * Recomputes the ranking into Redis. Several worker processes may call this on the same
 * schedule: a short Redis lock lets one of them do it per period.
 */
export async function refreshTopSellers(
  redis: RedisClient,
  prefix: string,
  products: Pick<ProductsRepository, 'topSellers'>,
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
  return true;
}
