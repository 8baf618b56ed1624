import { duplicateKeyName } from '../../shared/db/sql';
import { inTransaction } from '../../shared/db/transaction';
import { orderJobSchema, type OrderJob } from '../../shared/queues/orders';
import { unappliedOrderView, type OrderView } from '../../shared/views';
import type { PipelineStep } from '../pipeline';
import { createOrderBatcher, type BatcherOptions } from './batcher';
import type { PlaceOrderDeps } from './place-order';

export function orderStep(
  deps: PlaceOrderDeps,
  options: BatcherOptions = {},
): PipelineStep<OrderJob, OrderView> {
  const batcher = createOrderBatcher(deps, options);
  return {
    kind: 'order',
    schema: orderJobSchema,
    idOf: (job) => job.orderId,
    unappliedView: (job, status) => unappliedOrderView(job, status),
    apply: (job) => batcher.place(job),
    async recordOnHold(job) {
      try {
        await inTransaction(deps.sequelize, (tx) =>
          deps.orders.insert(
            tx,
            {
              id: job.orderId,
              userId: job.userId,
              status: 'ON_HOLD',
              totalAmount: null,
              failureCode: null,
              idempotencyKey: job.idempotencyKey,
              requestId: job.requestId ?? null,
              createdAt: new Date(job.acceptedAt),
              paidAt: null,
              updatedAt: new Date(),
            },
            job.items.map((item) => ({ ...item, unitPrice: null })),
          ),
        );
      } catch (error) {
        // Already recorded (ON_HOLD before, or applied meanwhile): nothing to add.
        if (duplicateKeyName(error) === undefined) throw error;
      }
    },
  };
}
