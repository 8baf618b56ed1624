import { inTransaction } from '../../shared/db/transaction';
import { cancellationJobSchema, type CancellationJob } from '../../shared/queues/cancellations';
import { unappliedCancellationView, type CancellationView } from '../../shared/views';
import type { QueueJobs } from '../jobs/processor';
import { cancelOrder, type CancelOrderDeps } from './cancel-order';

/**
 * The cancellations queue: each cancellation of a job in a transaction of its own. Its final
 * view settles the order too: the order's status record gets the view the cancellation left.
 */
export function cancellationJobs(
  deps: CancelOrderDeps,
): QueueJobs<CancellationJob, CancellationView> {
  return {
    kind: 'cancel',
    schema: cancellationJobSchema,
    idOf: (job) => job.cancellationId,
    unappliedView: (job, status) => unappliedCancellationView(job, status),
    apply: (job) => cancelOrder(deps, job),
    settles: (view) =>
      view.order && {
        kind: 'order',
        id: view.order.orderId,
        userId: view.order.userId,
        acceptedAt: view.order.createdAt,
        status: view.order.status,
        view: view.order,
      },
    async recordOnHold(job) {
      // A duplicate means the cancellation is recorded already: there is nothing to add.
      await inTransaction(deps.sequelize, (tx) =>
        deps.cancellations.insert(tx, {
          id: job.cancellationId,
          orderId: job.orderId,
          userId: job.userId,
          idempotencyKey: job.idempotencyKey,
          outcome: 'ON_HOLD',
          requestId: job.requestId ?? null,
          createdAt: new Date(job.acceptedAt),
        }),
      );
    },
  };
}
