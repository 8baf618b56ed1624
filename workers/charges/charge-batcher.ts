import type { ChargeJob } from '../../shared/queues/charges';
import type { ChargeView } from '../../shared/views';
import type { ApplyChargeDeps } from './apply-charge';
import { applyCharges } from './apply-charges';

interface Pending {
  job: ChargeJob;
  resolve(view: ChargeView): void;
  reject(error: unknown): void;
}

/**
 * Group commit for charges, as `workers/orders/batcher.ts` is for orders: the charges a worker
 * process starts in the same event-loop turn (a job's micro-batch, and other jobs in flight)
 * are applied together by {@link applyCharges}, one batch at a time.
 */
export function createChargeBatcher(deps: ApplyChargeDeps, maxBatch = 64) {
  const waiting: Pending[] = [];
  let flushing = false;

  async function apply(batch: Pending[]): Promise<void> {
    const outcomes = await applyCharges(
      deps,
      batch.map((p) => p.job),
    );
    batch.forEach((pending, i) => {
      const outcome = outcomes[i];
      if (outcome?.status === 'fulfilled') pending.resolve(outcome.value);
      else pending.reject(outcome?.reason ?? new Error('charge not applied'));
    });
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
    /** Applies the charge (with whatever else is waiting) and resolves to its final view. */
    place(job: ChargeJob): Promise<ChargeView> {
      return new Promise<ChargeView>((resolve, reject) => {
        waiting.push({ job, resolve, reject });
        // Let the charges a worker starts in the same tick join this batch.
        if (!flushing) setImmediate(() => void flush());
        flushing = true;
      });
    },
  };
}
