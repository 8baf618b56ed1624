import { inTransaction } from '../../shared/db/transaction';
import { chargeJobSchema, type ChargeJob } from '../../shared/queues/charges';
import { unappliedChargeView, type ChargeView } from '../../shared/views';
import type { QueueJobs } from '../jobs/processor';
import { applyCharge, type ApplyChargeDeps } from './apply-charge';

/** The charges queue: each charge of a job in a transaction of its own. */
export function chargeJobs(deps: ApplyChargeDeps): QueueJobs<ChargeJob, ChargeView> {
  return {
    kind: 'charge',
    schema: chargeJobSchema,
    idOf: (job) => job.chargeId,
    unappliedView: (job, status) => unappliedChargeView(job, status),
    apply: (job) => applyCharge(deps, job),
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
