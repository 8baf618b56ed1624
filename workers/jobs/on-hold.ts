import type { Job } from 'bullmq';
import type { ProcessorDeps, QueueJobs, RequestView } from './processor';

/** Marks a request ON_HOLD: its status for clients, and a database row when the DB answers. */
export async function putOnHold<J, V extends RequestView>(
  queueJobs: QueueJobs<J, V>,
  deps: Pick<ProcessorDeps, 'records' | 'logger' | 'metrics'>,
  queue: string,
  request: J,
): Promise<void> {
  const id = queueJobs.idOf(request);
  const view = queueJobs.unappliedView(request, 'ON_HOLD');
  await deps.records
    .transition(queueJobs.kind, {
      id,
      userId: view.userId,
      acceptedAt: view.createdAt,
      status: 'ON_HOLD',
      view,
    })
    .catch((error: unknown) => {
      deps.logger.error('could not record ON_HOLD status', { id, error: String(error) });
    });
  await queueJobs.recordOnHold(request).catch((error: unknown) => {
    deps.logger.warn('could not record ON_HOLD row', { id, error: String(error) });
  });
  deps.metrics.jobsOnHold.inc({ queue });
  deps.logger.error(`${queueJobs.kind} put ON_HOLD: an operator must replay it`, { id });
}

/**
 * Did BullMQ fail this job because it stalled too often (its worker died or lost the lock
 * with it more than `maxStalledCount` times)? Such a job never reaches the processor, so
 * nothing else puts its requests ON_HOLD. Read from the job's own stall counter, which BullMQ
 * increments each time it finds the job stalled, against the limit the worker was given.
 */
export function stalledTooOften(
  job: Pick<Job, 'stalledCounter'>,
  maxStalledCount: number,
): boolean {
  return job.stalledCounter > maxStalledCount;
}
