import { inTransaction } from '../../shared/db/transaction';
import { orderJobSchema, type OrderJob } from '../../shared/queues/orders';
import { unappliedOrderView, type OrderView } from '../../shared/views';
import type { QueueJobs } from '../jobs/processor';
import { createOrderBatcher, type BatcherOptions } from './batcher';
import { onHoldRecord } from './order-rows';
import type { PlaceOrderDeps } from './place-order';

/** The orders queue: each order of a job joins this process's group commit. */
export function orderJobs(
  deps: PlaceOrderDeps,
  options: BatcherOptions = {},
): QueueJobs<OrderJob, OrderView> {
  const batcher = createOrderBatcher(deps, options);
  return {
    kind: 'order',
    schema: orderJobSchema,
    idOf: (job) => job.orderId,
    unappliedView: (job, status) => unappliedOrderView(job, status),
    apply: (job) => batcher.place(job),
    async recordOnHold(job) {
      // A duplicate means the order is recorded already (ON_HOLD before, or applied
      // meanwhile): there is nothing to add.
      await inTransaction(deps.sequelize, (tx) =>
        deps.orders.insert(
          tx,
          onHoldRecord(job, new Date()),
          job.items.map((item) => ({ ...item, unitPrice: null })),
        ),
      );
    },
  };
}
