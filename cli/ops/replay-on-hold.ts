import type { Job } from 'bullmq';
import type { RequestQueues } from '../../shared/queues';
import type { RequestKind, RequestRecords } from '../../shared/requests/records';
import {
  unappliedCancellationView,
  unappliedChargeView,
  unappliedOrderView,
} from '../../shared/views';
import { cancellationJobSchema, type CancellationJob } from '../../shared/queues/cancellations';
import { requestsParser, type JobPayload } from '../../shared/queues/batch';
import { chargeJobSchema, type ChargeJob } from '../../shared/queues/charges';
import { orderJobSchema, type OrderJob } from '../../shared/queues/orders';

export interface ReplayDeps {
  queues: RequestQueues;
  records: RequestRecords;
  onHoldOrders(): Promise<OrderJob[]>;
  onHoldCharges(): Promise<ChargeJob[]>;
  onHoldCancellations(): Promise<CancellationJob[]>;
}

/** The part of a BullMQ queue replaying needs. */
interface ReplayableQueue<J> {
  add(name: string, data: JobPayload<J>, opts: { jobId: string }): Promise<unknown>;
  getJob(id: string): Promise<unknown>;
  getFailed(start: number, end: number): Promise<Job[]>;
}

/** A kind's queues, one per partition, as replaying needs them. */
interface ReplayableQueues<J> {
  forUser(userId: number): ReplayableQueue<J>;
  partitions: readonly { base: string; queue: ReplayableQueue<J> }[];
}

async function replayQueue<J>(
  kind: RequestKind,
  queues: ReplayableQueues<J>,
  recorded: J[],
  requestsOf: (data: unknown) => J[] | null,
  idOf: (job: J) => string,
  pendingView: (job: J) => { userId: number; createdAt: string },
  records: RequestRecords,
  out: (line: string) => void,
): Promise<number> {
  let replayed = 0;
  const requeued = new Set<string>();
  // Failed jobs are the ON_HOLD ones: business failures complete, they never fail. A batch job
  // is re-queued whole; its requests that were applied stay final (a non-final status never
  // replaces a final one) and applying them again is a no-op.
  for (const { base, queue } of queues.partitions) {
    for (const job of await queue.getFailed(0, -1)) {
      const requests = requestsOf(job.data) ?? [];
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      // The records of the partition the job is in (while re-partitioning, maybe the previous).
      await records.part(base).transitionMany(
        kind,
        requests.map((data) => {
          const view = pendingView(data);
          return {
            id: idOf(data),
            userId: view.userId,
            acceptedAt: view.createdAt,
            status: 'PENDING',
            view,
          };
        }),
      );
      for (const data of requests) {
        requeued.add(idOf(data));
        replayed++;
        out(`  ${kind} ${idOf(data)} re-queued`);
      }
    }
  }
  // ON_HOLD rows whose job is gone (Redis lost it, or retention expired): enqueue them anew.
  for (const data of recorded) {
    const id = idOf(data);
    const view = pendingView(data);
    const queue = queues.forUser(view.userId);
    if (requeued.has(id) || (await queue.getJob(id))) continue;
    await queue.add(kind, data, { jobId: id });
    await records.forUser(view.userId).transition(kind, {
      id,
      userId: view.userId,
      acceptedAt: view.createdAt,
      status: 'PENDING',
      view,
    });
    replayed++;
    out(`  ${kind} ${id} re-enqueued from the database`);
  }
  return replayed;
}

/**
 * Re-queues every ON_HOLD charge, order and cancellation; processing them stays exactly-once.
 * Charges and orders first: a cancellation then finds its order applied.
 */
export async function runReplayOnHold(
  deps: ReplayDeps,
  out: (line: string) => void,
): Promise<number> {
  const charges = await replayQueue(
    'charge',
    deps.queues.charges,
    await deps.onHoldCharges(),
    requestsParser(chargeJobSchema),
    (job) => job.chargeId,
    (job) => unappliedChargeView(job, 'PENDING'),
    deps.records,
    out,
  );
  const orders = await replayQueue(
    'order',
    deps.queues.orders,
    await deps.onHoldOrders(),
    requestsParser(orderJobSchema),
    (job) => job.orderId,
    (job) => unappliedOrderView(job, 'PENDING'),
    deps.records,
    out,
  );
  const cancellations = await replayQueue(
    'cancel',
    deps.queues.cancellations,
    await deps.onHoldCancellations(),
    requestsParser(cancellationJobSchema),
    (job) => job.cancellationId,
    (job) => unappliedCancellationView(job, 'PENDING'),
    deps.records,
    out,
  );
  out(
    `replay-on-hold: ${charges} charge(s), ${orders} order(s) and ${cancellations} cancellation(s) re-queued`,
  );
  return charges + orders + cancellations;
}
