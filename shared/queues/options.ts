import type { DefaultJobOptions } from 'bullmq';

export interface RetryPolicy {
  /** Attempts before a job goes ON_HOLD (default 8: about two minutes of retries). */
  attempts: number;
  /** First retry delay in ms, doubled per attempt, with up to 50 % jitter (default 1,000). */
  backoffMs: number;
}

/**
 * Job options shared by the charge and order queues.
 *
 * - Retries are for infrastructure failures only; business failures complete the job.
 * - Completed jobs are kept for an hour (at most 10,000): the database holds the outcome.
 * - Failed jobs are the ON_HOLD ones: kept 14 days so `ops replay-on-hold` can re-queue them.
 */
export function requestJobOptions(retry: RetryPolicy): DefaultJobOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs, jitter: 0.5 },
    removeOnComplete: { age: 3_600, count: 10_000 },
    removeOnFail: { age: 14 * 24 * 3_600 },
  };
}
