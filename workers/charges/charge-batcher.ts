import type { ChargeJob } from '../../shared/queues/charges';
import type { ChargeView } from '../../shared/views';
import { createGroupCommit } from '../jobs/group-commit';
import type { ApplyChargeDeps } from './apply-charge';
import { applyCharges } from './apply-charges';

/**
 * Group commit for charges (`workers/jobs/group-commit.ts`), as for orders: the charges in hand
 * at the same moment are applied together by {@link applyCharges}.
 */
export function createChargeBatcher(deps: ApplyChargeDeps, maxBatch = 64) {
  return createGroupCommit<ChargeJob, ChargeView>((jobs) => applyCharges(deps, jobs), maxBatch);
}
