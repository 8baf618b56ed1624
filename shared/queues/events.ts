import type { DefaultJobOptions, Job, JobState, Queue } from 'bullmq';
import { z } from 'zod';

/**
 * Queue of order events to deliver to the data platform. The database row (order_events) is
 * the source of truth; a job only says "try to deliver these". Two kinds of job:
 *
 * - one event (`{ eventId }`, job id = event id): every retry, every event the sweeper or a
 *   replay hands over, and an event the relay enqueues alone;
 * - a group (`{ eventIds }`, BullMQ's own id): the events the order workers recorded at the same
 *   moment, enqueued together by the relay for their first attempt. An event of a group that is
 *   not acknowledged continues as a one-event job (`workers/events/processor.ts`).
 */
export const EVENTS_QUEUE = 'events';

/** The job name of both kinds (Bull Board shows it). */
export const EVENT_JOB_NAME = 'order.paid';

/** Events a group job carries at most: a relay flush of more makes several jobs. */
export const MAX_EVENTS_PER_JOB = 64;

export const eventJobSchema = z.object({ eventId: z.uuid() });

export type EventJob = z.infer<typeof eventJobSchema>;

export const eventGroupJobSchema = z.object({
  eventIds: z.array(z.uuid()).min(1).max(MAX_EVENTS_PER_JOB),
});

export type EventGroupJob = z.infer<typeof eventGroupJobSchema>;

/** What a job of the events queue carries: one event, or a group of them. */
export const eventsJobSchema = z.union([eventJobSchema, eventGroupJobSchema]);

export type EventsJob = EventJob | EventGroupJob;

/** The job id is the event id: relay, sweeper and replay may all add it, only one job exists. */
export const eventJobId = (eventId: string): string => eventId;

/** How long and how often an event is retried before it is DEAD. */
export interface EventRetryPolicy {
  /** Delivery attempts before the event is DEAD (default 30: over 26 h of retries). */
  attempts: number;
  /** First retry delay in ms, doubled per attempt (default 1,000). */
  backoffMs: number;
  /** Longest delay between two attempts in ms, before jitter (default 90 min). */
  maxBackoffMs: number;
}

export const DEFAULT_EVENT_RETRY: EventRetryPolicy = Object.freeze({
  attempts: 30,
  backoffMs: 1_000,
  maxBackoffMs: 90 * 60_000,
});

/** Name of the custom backoff; the events worker supplies it as `settings.backoffStrategy`. */
export const EVENTS_BACKOFF = 'events-capped-exponential';

/**
 * Jitter only ever lengthens a delay (by up to 20 %), so the contract's "retried for at least
 * 24 h" holds for every draw, while retries after an outage still spread out.
 */
const JITTER = 0.2;

/**
 * - Completed jobs are kept for an hour (at most 10,000): the row says DELIVERED.
 * - Failed jobs are the DEAD events: kept 14 days (at most 100,000) for Bull Board and
 *   `ops replay-events`; replay works from the rows after that.
 */
export function eventJobOptions(retry: EventRetryPolicy = DEFAULT_EVENT_RETRY): DefaultJobOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: EVENTS_BACKOFF, delay: retry.backoffMs },
    removeOnComplete: { age: 3_600, count: 10_000 },
    removeOnFail: { age: 14 * 24 * 3_600, count: 100_000 },
  };
}

/** Delay before retry number `attemptsMade` (1 = the first retry), without jitter. */
function baseDelay(retry: EventRetryPolicy, attemptsMade: number): number {
  return Math.min(retry.maxBackoffMs, retry.backoffMs * 2 ** Math.max(0, attemptsMade - 1));
}

/** BullMQ `settings.backoffStrategy`: exponential, capped, with upward jitter. */
export function eventBackoffStrategy(
  retry: EventRetryPolicy,
  random: () => number = Math.random,
): (attemptsMade: number) => number {
  return (attemptsMade) => Math.round(baseDelay(retry, attemptsMade) * (1 + JITTER * random()));
}

/** The shortest time from the first attempt to the last one under `retry` (jitter is ≥ 0). */
export function minimumRetrySpanMs(retry: EventRetryPolicy): number {
  let total = 0;
  for (let made = 1; made < retry.attempts; made++) total += baseDelay(retry, made);
  return total;
}

export type RequeueResult = 'added' | 'retried' | 'present';

/**
 * Makes sure a one-event job will (again) try to deliver `eventId`, whatever is left of an
 * earlier one: none → add (after `delayMs`); completed (kept after a delivery since reopened)
 * → replace; failed → retry with fresh attempts; waiting, delayed or active → already on its
 * way. Idempotent, and safe to race: sweepers and `ops replay-events` call it for the same
 * event without coordinating, and a job that moved between the look and the act is taken as
 * it is now.
 */
export async function requeueEvent(
  queue: Queue<EventsJob>,
  eventId: string,
  knownState?: JobState | 'unknown',
  delayMs = 0,
): Promise<RequeueResult> {
  const id = eventJobId(eventId);
  const state = knownState ?? (await queue.getJobState(id));
  if (state === 'completed') await queue.remove(id);
  if (state === 'completed' || state === 'unknown') {
    await queue.add(EVENT_JOB_NAME, { eventId }, { jobId: id, delay: delayMs });
    return 'added';
  }
  if (state === 'failed') {
    const job = await queue.getJob(id);
    const now = job ? await retryFailedJob(queue, job) : 'unknown';
    if (now === 'retried') return 'retried';
    if (now !== 'unknown') return 'present';
    // Gone since its state was read (removed, retention expired): add it anew.
    await queue.add(EVENT_JOB_NAME, { eventId }, { jobId: id, delay: delayMs });
    return 'added';
  }
  return 'present';
}

/**
 * Retries a failed job of the events queue with fresh attempts. BullMQ retries only a job still
 * in the failed set: if another sweeper or a replay retried or removed it since it was read,
 * the answer is the state it is in now instead (`unknown`: gone).
 */
export async function retryFailedJob(
  queue: Queue<EventsJob>,
  job: Job<EventsJob>,
): Promise<'retried' | JobState | 'unknown'> {
  try {
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return 'retried';
  } catch (error) {
    const now = await queue.getJobState(job.id ?? '');
    if (now === 'failed') throw error;
    return now;
  }
}
