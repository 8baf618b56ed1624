import type { Queue } from 'bullmq';
import type { EventCursor, EventsRepository } from '../../shared/db/repositories/events';
import {
  requeueEvent,
  retryFailedJob,
  type EventsJob,
  type RequeueResult,
} from '../../shared/queues/events';

export interface EventsOpsDeps {
  events: EventsRepository;
  queue: Queue<EventsJob>;
}

const DEAD_SHOWN = 10;
const PAGE = 500;
const QUEUE_STATES = ['wait', 'delayed', 'active', 'failed', 'completed'] as const;

/** What became of a revived event's job; `present`: a worker's sweeper handed it over first. */
const REQUEUED: Record<RequeueResult, string> = {
  added: 're-queued',
  retried: 'job retried',
  present: 'already queued',
};

function age(since: Date): string {
  const seconds = Math.max(0, (Date.now() - since.getTime()) / 1_000);
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7_200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3_600).toFixed(1)} h`;
}

/**
 * `ops events`: the outbox by status, how old the oldest undelivered event is, the events
 * queue's jobs, and the latest DEAD events with why their last attempt failed.
 */
export async function runEvents(deps: EventsOpsDeps, out: (line: string) => void): Promise<void> {
  const [counts, oldest, dead, jobs] = await Promise.all([
    deps.events.countByStatus(),
    deps.events.oldestPending(),
    deps.events.latestDead(DEAD_SHOWN),
    deps.queue.getJobCounts(...QUEUE_STATES),
  ]);
  out('order events (outbox)');
  for (const status of ['PENDING', 'DELIVERED', 'DEAD'] as const) {
    out(`  ${status.padEnd(10)} ${String(counts[status]).padStart(10)}`);
  }
  out(`oldest undelivered: ${oldest ? `${age(oldest)} old (${oldest.toISOString()})` : '-'}`);
  out(`events queue: ${QUEUE_STATES.map((s) => `${s} ${jobs[s] ?? 0}`).join(', ')}`);
  if (dead.length === 0) {
    out('no DEAD events');
    return;
  }
  out(`latest DEAD events (up to ${DEAD_SHOWN}; replay with: npm run ops -- replay-events)`);
  for (const event of dead) {
    out(
      `  ${event.id}  order ${event.orderId}  occurred ${event.occurredAt.toISOString()}  attempts ${event.attempts}  ${event.lastError ?? ''}`,
    );
  }
}

/**
 * `ops replay-events`: every DEAD event back to PENDING with fresh attempts, and on its way
 * again; then every failed job left in the events queue retried (a row whose DEAD mark never
 * landed). Re-running it is harmless: delivery is at least once, and a DELIVERED row is
 * never sent again.
 */
export async function runReplayEvents(
  deps: EventsOpsDeps,
  out: (line: string) => void,
): Promise<{ revived: number; retried: number }> {
  let revived = 0;
  let cursor: EventCursor | null = null;
  for (;;) {
    const page = await deps.events.deadPage(cursor, PAGE);
    const last = page.at(-1);
    if (!last) break;
    cursor = last;
    const ids = page.map((row) => row.id);
    const reopened = await deps.events.revive(ids);
    for (const id of ids) {
      const result = await requeueEvent(deps.queue, id);
      out(`  [${++revived}] event ${id} ${REQUEUED[result]}`);
    }
    await deps.events.markEnqueued(ids, new Date());
    out(`  ... ${reopened} of ${ids.length} DEAD event(s) in this batch back to PENDING`);
  }

  // Ids only: the failed set may hold many jobs, their data is not needed.
  let retried = 0;
  for (const id of await deps.queue.getRanges(['failed'], 0, -1, true)) {
    const job = await deps.queue.getJob(id);
    if (!job || (await retryFailedJob(deps.queue, job)) !== 'retried') continue;
    out(`  failed job ${id} retried`);
    retried++;
  }
  out(`replay-events: ${revived} DEAD event(s) re-queued, ${retried} other failed job(s) retried`);
  return { revived, retried };
}
