/**
 * Group commit: the requests of one kind a worker process has in hand at the same moment (a
 * job's micro-batch, and other jobs in flight) are applied together by `applyMany`, one batch
 * at a time, at most `maxBatch` per call; each caller gets its own request's outcome. Under light
 * load a batch is one request, applied by the same code.
 */
export function createGroupCommit<J, V>(
  applyMany: (jobs: readonly J[]) => Promise<PromiseSettledResult<V>[]>,
  maxBatch: number,
) {
  interface Pending {
    job: J;
    resolve(view: V): void;
    reject(error: unknown): void;
  }
  const waiting: Pending[] = [];
  let flushing = false;

  async function apply(batch: Pending[]): Promise<void> {
    try {
      const outcomes = await applyMany(batch.map((p) => p.job));
      batch.forEach((pending, i) => {
        const outcome = outcomes[i];
        if (outcome?.status === 'fulfilled') pending.resolve(outcome.value);
        else pending.reject(outcome?.reason ?? new Error('request not applied'));
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
    /** Applies the request (with whatever else is waiting) and resolves to its final view. */
    place(job: J): Promise<V> {
      return new Promise<V>((resolve, reject) => {
        waiting.push({ job, resolve, reject });
        // Let the requests a worker starts in the same tick join this batch.
        if (!flushing) setImmediate(() => void flush());
        flushing = true;
      });
    },
  };
}
