import { duplicateKeyName } from '../../shared/db/sql';
import { inTransaction } from '../../shared/db/transaction';
import { chargeJobSchema, type ChargeJob } from '../../shared/queues/charges';
import { unappliedChargeView, type ChargeView } from '../../shared/views';
import type { PipelineStep } from '../pipeline';
import { applyCharge, type ApplyChargeDeps } from './apply-charge';

export function chargeStep(deps: ApplyChargeDeps): PipelineStep<ChargeJob, ChargeView> {
  return {
    kind: 'charge',
    schema: chargeJobSchema,
    idOf: (job) => job.chargeId,
    unappliedView: (job, status) => unappliedChargeView(job, status),
    apply: (job) => applyCharge(deps, job),
    async recordOnHold(job) {
      try {
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
      } catch (error) {
        if (duplicateKeyName(error) === undefined) throw error;
      }
    },
  };
}
