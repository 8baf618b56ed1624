import type { Job } from 'bullmq';
import type { StatusRecord } from '../../shared/requests/records';
import type { ProcessorDeps, QueueJobs, RequestView } from './processor';
import { messageOf } from '../../shared/infra-errors';

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
      deps.logger.error('could not record ON_HOLD status', { id, error: messageOf(error) });
    });
  await queueJobs.recordOnHold(request).catch((error: unknown) => {
    deps.logger.warn('could not record ON_HOLD row', { id, error: messageOf(error) });
  });
  deps.metrics.jobsOnHold.inc({ queue });
  deps.logger.error(`${queueJobs.kind} put ON_HOLD: an operator must replay it`, { id });
}

/**
 * Has BullMQ failed this job for good, so that it will not run again by itself? Its last
 * attempt failed, it failed unrecoverably, or it stalled more often than `maxStalledCount`
 * (its worker died or lost the lock with it; BullMQ fails such a job when it is next taken).
 * BullMQ stamps `finishedOn` only then; a failed attempt that will be retried has none.
 */
export function failedForGood(job: Pick<Job, 'finishedOn'>): boolean {
  return job.finishedOn !== undefined;
}

/**
 * The requests of a job BullMQ failed for good that are still PENDING or PROCESSING go ON_HOLD,
 * read from their status records first: the processor holds the requests it could not apply
 * on their last attempt itself, and a final view is never replaced, so neither is held or
 * counted twice. What this catches: a job that stalled too often (it never reaches the
 * processor again), and one whose last attempt failed at a status write to Redis (PROCESSING
 * before applying, or the final view after it; one that was applied shows ON_HOLD until the
 * reconcile publishes its final view from the database). Without it such requests would stay
 * PENDING or PROCESSING with no job to finish them.
 */
export async function holdUnresolved<J, V extends RequestView>(
  queueJobs: QueueJobs<J, V>,
  deps: Pick<ProcessorDeps, 'records' | 'logger' | 'metrics'>,
  queue: string,
  requests: readonly J[],
): Promise<void> {
  const ids = requests.map((r) => queueJobs.idOf(r));
  let records: (StatusRecord | null)[];
  try {
    records = await deps.records.getMany(queueJobs.kind, ids);
  } catch (error) {
    // The reconcile counts them stuck (`shop_requests_stuck`); `ops on-hold` lists the job.
    deps.logger.error("could not read the status of a failed job's requests", {
      queue,
      ids,
      error: messageOf(error),
    });
    return;
  }
  for (const [i, request] of requests.entries()) {
    const status = records[i]?.status;
    if (status === undefined || status === 'PENDING' || status === 'PROCESSING') {
      await putOnHold(queueJobs, deps, queue, request);
    }
  }
}
