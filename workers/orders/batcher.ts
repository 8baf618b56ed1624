import type { OrderJob } from '../../shared/queues/orders';
import type { OrderView } from '../../shared/views';
import { createGroupCommit } from '../jobs/group-commit';
import { placeOrders, type PlaceOrderDeps, type PlaceOrdersHooks } from './place-order';

export interface BatcherOptions extends PlaceOrdersHooks {
  /** Most orders applied in one transaction (default 32). */
  maxBatch?: number;
}

/**
 * Group commit for orders (`workers/jobs/group-commit.ts`): the orders in hand at the same
 * moment are applied together by {@link placeOrders}, in one transaction whose round trips do
 * not grow with its size.
 */
export function createOrderBatcher(deps: PlaceOrderDeps, options: BatcherOptions = {}) {
  return createGroupCommit<OrderJob, OrderView>(
    (jobs) => placeOrders(deps, jobs, options),
    options.maxBatch ?? 32,
  );
}

export type OrderBatcher = ReturnType<typeof createOrderBatcher>;
