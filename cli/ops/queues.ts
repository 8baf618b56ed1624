import { isBatch, type JobPayload } from '../../shared/queues/batch';
import type { Queue } from 'bullmq';
import type { ObservedQueue } from '../../shared/metrics';

/** `orders`, or `orders/p3` (`orders/previous:p3`) when it is one of several partitions. */
export function queueLabel({ queue, partition }: ObservedQueue, all: readonly ObservedQueue[]) {
  const several = all.filter((o) => o.queue.name === queue.name).length > 1;
  return several ? `${queue.name}/${partition}` : queue.name;
}

const STATES = ['wait', 'prioritized', 'delayed', 'active', 'failed', 'completed'] as const;

/** `ops queues`: depth per state, throughput over the last minutes, age of the oldest waiting job. */
export async function runQueues(
  queues: readonly ObservedQueue[],
  out: (line: string) => void,
): Promise<void> {
  const width = Math.max(10, ...queues.map((o) => queueLabel(o, queues).length + 2));
  out(
    `${'queue'.padEnd(width)}${STATES.map((s) => s.padStart(12)).join('')}  paused  done/min (1m, 5m)  failed/min  oldest waiting`,
  );
  for (const observed of queues) {
    const { queue } = observed;
    const [counts, paused, done, failed, [oldest]] = await Promise.all([
      queue.getJobCounts(...STATES),
      queue.isPaused(),
      queue.getMetrics('completed', 0, 4),
      queue.getMetrics('failed', 0, 0),
      queue.getJobs(['wait'], 0, 0, true),
    ]);
    const perMinute = (data: number[], minutes: number) =>
      (data.slice(0, minutes).reduce((a, b) => a + b, 0) / minutes).toFixed(0);
    const age = oldest ? `${((Date.now() - oldest.timestamp) / 1_000).toFixed(1)} s` : '-';
    out(
      `${queueLabel(observed, queues).padEnd(width)}${STATES.map((s) => String(counts[s] ?? 0).padStart(12)).join('')}  ${(paused ? 'yes' : 'no').padEnd(6)}  ${`${perMinute(done.data, 1)}, ${perMinute(done.data, 5)}`.padEnd(17)}  ${perMinute(failed.data, 1).padEnd(10)}  ${age}`,
    );
  }
  out('failed = ON_HOLD (infrastructure kept failing); replay with: npm run ops -- replay-on-hold');
}

/** `ops on-hold`: the ON_HOLD (failed) jobs, oldest first, with why their last attempt failed. */
export async function runListOnHold(
  queues: readonly ObservedQueue[],
  out: (line: string) => void,
): Promise<number> {
  let total = 0;
  let requests = 0;
  for (const { queue } of queues) {
    const jobs = await queue.getJobs(['failed'], 0, -1, true);
    total += jobs.length;
    for (const job of jobs) {
      const at = job.finishedOn ? new Date(job.finishedOn).toISOString() : '?';
      // A batch job (accepts of one event-loop turn) holds several requests: name them.
      const data = job.data as JobPayload<{
        orderId?: string;
        chargeId?: string;
        cancellationId?: string;
      }>;
      const ids = (isBatch(data) ? data.requests : [data]).map(
        (r) => r.cancellationId ?? r.orderId ?? r.chargeId,
      );
      requests += ids.length;
      const batch = isBatch(data) ? `  ${ids.length} requests: ${ids.join(' ')}` : '';
      out(
        `${queue.name}  ${job.id ?? '?'}  since ${at}  attempts ${job.attemptsMade}  ${job.failedReason}${batch}`,
      );
    }
  }
  out(`${total} job(s) ON_HOLD, ${requests} request(s)`);
  return total;
}

/** `ops retry-failed <queue>`: moves that queue's failed jobs back to waiting, attempts reset. */
export async function runRetryFailed(queue: Queue, out: (line: string) => void): Promise<number> {
  const jobs = await queue.getJobs(['failed'], 0, -1, true);
  for (const [index, job] of jobs.entries()) {
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    out(`  [${index + 1}/${jobs.length}] ${queue.name} ${job.id ?? '?'} retried`);
  }
  out(`retry-failed: ${jobs.length} job(s) of ${queue.name} back to waiting`);
  return jobs.length;
}

/** `ops pause|resume <queue>`: stops (or restarts) every worker of the queue taking new jobs. */
export async function runPause(
  queue: Queue,
  pause: boolean,
  out: (line: string) => void,
): Promise<void> {
  if (pause) await queue.pause();
  else await queue.resume();
  out(
    `${queue.name} ${pause ? 'paused: workers finish active jobs and take no new ones' : 'resumed'}`,
  );
}
