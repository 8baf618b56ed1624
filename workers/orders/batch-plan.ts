import type { OrderJob } from '../../shared/queues/orders';
import { OrderRejected, type PricedItem } from './place-order';

/** What a batch transaction read, under lock, before deciding anything. */
export interface LockedRows {
  /** Every product the batch names that exists. */
  products: ReadonlyMap<number, { stock: number; price: number }>;
  /** Every user of the batch that has a row. */
  balances: ReadonlyMap<number, number>;
}

export type PlannedOrder =
  | { job: OrderJob; paid: { items: PricedItem[]; total: number; balanceAfter: number | null } }
  | { job: OrderJob; refused: OrderRejected };

export interface BatchPlan {
  /** One entry per job, in the jobs' order. */
  orders: PlannedOrder[];
  /** Units to take per product, summed over the paid orders. */
  takes: Map<number, number>;
  /** Amount to debit per user, summed over the paid orders. */
  debits: Map<number, number>;
}

/**
 * Decides a batch of orders against rows locked for the whole transaction, one order after
 * the other in the batch's order, exactly as if each had run its own transaction: an order
 * sees the stock and balance the orders before it left. The rules are those of
 * `payInTransaction` — items in ascending product id, the first item that cannot be taken
 * decides INSUFFICIENT_STOCK or PRODUCT_NOT_FOUND, then the total must be covered by the
 * balance (a user without a row has none) — so the outcome does not depend on the path.
 *
 * Pure: the caller writes the plan in a handful of statements.
 */
export function planBatch(jobs: readonly OrderJob[], locked: LockedRows): BatchPlan {
  const stock = new Map([...locked.products].map(([id, row]) => [id, row.stock]));
  const balances = new Map(locked.balances);
  const takes = new Map<number, number>();
  const debits = new Map<number, number>();
  const orders: PlannedOrder[] = [];

  for (const job of jobs) {
    const items = [...job.items].sort((a, b) => a.productId - b.productId);
    const wanted = new Map<number, number>();
    const short = items.find((item) => {
      const want = (wanted.get(item.productId) ?? 0) + item.quantity;
      wanted.set(item.productId, want);
      return (stock.get(item.productId) ?? -1) < want;
    });
    if (short) {
      const code = stock.has(short.productId) ? 'INSUFFICIENT_STOCK' : 'PRODUCT_NOT_FOUND';
      const unpriced = items.map((i) => ({ ...i, unitPrice: null }));
      orders.push({ job, refused: new OrderRejected(code, unpriced, null) });
      continue;
    }

    const priced = items.map((i) => ({
      ...i,
      unitPrice: locked.products.get(i.productId)?.price ?? 0,
    }));
    const total = priced.reduce((sum, i) => sum + i.unitPrice * i.quantity, 0);
    let balanceAfter: number | null = null;
    if (total > 0) {
      const balance = balances.get(job.userId);
      if (balance === undefined || balance < total) {
        orders.push({ job, refused: new OrderRejected('INSUFFICIENT_BALANCE', priced, total) });
        continue;
      }
      balanceAfter = balance - total;
      balances.set(job.userId, balanceAfter);
      debits.set(job.userId, (debits.get(job.userId) ?? 0) + total);
    }
    for (const [productId, quantity] of wanted) {
      stock.set(productId, (stock.get(productId) ?? 0) - quantity);
      takes.set(productId, (takes.get(productId) ?? 0) + quantity);
    }
    orders.push({ job, paid: { items: priced, total, balanceAfter } });
  }
  return { orders, takes, debits };
}
