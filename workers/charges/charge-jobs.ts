import { inTransaction } from '../../shared/db/transaction';
import { chargeJobSchema, type ChargeJob } from '../../shared/queues/charges';
import { unappliedChargeView, type ChargeView } from '../../shared/views';
import type { QueueJobs } from '../jobs/processor';
import type { ApplyChargeDeps } from './apply-charge';
import { createChargeBatcher } from './charge-batcher';

/** The charges queue: each charge of a job joins this process's group commit. */
export function chargeJobs(deps: ApplyChargeDeps): QueueJobs<ChargeJob, ChargeView> {
  const batcher = createChargeBatcher(deps);
  return {
    kind: 'charge',
    schema: chargeJobSchema,
    idOf: (job) => job.chargeId,
    unappliedView: (job, status) => unappliedChargeView(job, status),
    apply: (job) => batcher.place(job),
    async recordOnHold(job) {
      // A duplicate means the charge is recorded already (ON_HOLD before, or applied
      // meanwhile): there is nothing to add.
      await inTransaction(deps.sequelize, (tx) =>
        deps.charges.insert(tx, {
          id: job.chargeId,
          userId: job.userId,
          amount: job.amount,
          status: 'ON_HOLD',
          failureCode: null,
          balanceAfter: null,
          idempotencyKey: job.idempotencyKey,
          requestId: job.requestId ?? null,
          createdAt: new Date(job.acceptedAt),
          completedAt: null,
        }),
      );
    },
  };
}
