import type { OrderItemRecord } from '../../shared/db/repositories/orders';
import type { LockedOrderRows } from '../../shared/db/repositories/stock';
import type { OrderJob } from '../../shared/queues/orders';

export type OrderFailureCode = 'INSUFFICIENT_STOCK' | 'INSUFFICIENT_BALANCE' | 'PRODUCT_NOT_FOUND';

export type PricedItem = OrderJob['items'][number] & { unitPrice: number };

/** A business rule refused the order: it ends FAILED with `code` and is never retried. */
export interface Refusal {
  code: OrderFailureCode;
  /** Items with the prices known when the order was refused (null where unknown). */
  items: OrderItemRecord[];
  totalAmount: number | null;
}

export type OrderDecision =
  | { job: OrderJob; paid: { items: PricedItem[]; total: number; balanceAfter: number | null } }
  | { job: OrderJob; refused: Refusal };

export interface Decisions {
  /** One entry per order, in the orders' order. */
  orders: OrderDecision[];
  /** Units to take per product, summed over the paid orders. */
  takes: Map<number, number>;
  /** Amount to debit per user, summed over the paid orders. */
  debits: Map<number, number>;
}

/**
 * The rule that decides every order, whether it is applied alone or with a hundred others.
 * Orders are decided one after the other in the given order, each against the stock and
 * balances the orders before it left, exactly as if each had its own transaction:
 *
 * 1. Items are taken in ascending product id; the first item whose product does not exist
 *    refuses the order with PRODUCT_NOT_FOUND, the first with fewer units in stock than
 *    wanted with INSUFFICIENT_STOCK (prices unknown).
 * 2. The total is the sum of price × quantity at the locked prices. A total above zero must be
 *    covered by the user's balance (a user without a row has none), else INSUFFICIENT_BALANCE.
 * 3. A paid order takes its units and its total; a refused one changes nothing.
 *
 * Pure: the caller reads `locked` under lock and writes the decisions in a few statements.
 */
export function decideOrders(jobs: readonly OrderJob[], locked: LockedOrderRows): Decisions {
  const stock = new Map([...locked.products].map(([id, row]) => [id, row.stock]));
  const balances = new Map(locked.balances);
  const takes = new Map<number, number>();
  const debits = new Map<number, number>();
  const orders: OrderDecision[] = [];

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
      orders.push({ job, refused: { code, items: unpriced, totalAmount: null } });
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
        orders.push({
          job,
          refused: { code: 'INSUFFICIENT_BALANCE', items: priced, totalAmount: total },
        });
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
