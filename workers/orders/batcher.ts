import type { OrderJob } from '../../shared/queues/orders';
import type { OrderView } from '../../shared/views';
import { placeOrders, type PlaceOrderDeps, type PlaceOrdersHooks } from './place-order';

export interface BatcherOptions extends PlaceOrdersHooks {
  /** Most orders applied in one transaction (default 32). */
  maxBatch?: number;
}

interface Pending {
  job: OrderJob;
  resolve(view: OrderView): void;
  reject(error: unknown): void;
}

/**
 * Group commit for orders: the orders a worker process has in hand at the same moment are
 * applied together by {@link placeOrders}, in one transaction whose round trips do not grow
 * with its size. Under light load a batch is one order, decided by the same rule.
 */
export function createOrderBatcher(deps: PlaceOrderDeps, options: BatcherOptions = {}) {
  const maxBatch = options.maxBatch ?? 32;
  const waiting: Pending[] = [];
  let flushing = false;

  async function apply(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await placeOrders(
        deps,
        batch.map((p) => p.job),
        options,
      );
      batch.forEach((pending, i) => {
        const outcome = outcomes[i];
        if (outcome?.status === 'fulfilled') pending.resolve(outcome.value);
        else pending.reject(outcome?.reason ?? new Error('order not applied'));
      });
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (waiting.length > 0) await apply(waiting.splice(0, maxBatch));
    } finally {
      flushing = false;
    }
  }

  return {
    /** Applies the order (with whatever else is waiting) and resolves to its final view. */
    place(job: OrderJob): Promise<OrderView> {
      return new Promise<OrderView>((resolve, reject) => {
        waiting.push({ job, resolve, reject });
        // Let the jobs a worker starts in the same tick join this batch.
        if (!flushing) setImmediate(() => void flush());
        flushing = true;
      });
    },
  };
}

export type OrderBatcher = ReturnType<typeof createOrderBatcher>;
