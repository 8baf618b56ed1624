import type { DefaultJobOptions, JobState, Queue } from 'bullmq';
import { z } from 'zod';

/**
 * Queue of order events to deliver to the data platform; one job per event. The database row
 * (order_events) is the source of truth; the job only says "try to deliver this one".
 */
export const EVENTS_QUEUE = 'events';

export const eventJobSchema = z.object({ eventId: z.uuid() });

export type EventJob = z.infer<typeof eventJobSchema>;

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
 * Makes sure a job will (again) try to deliver `eventId`, whatever is left of an earlier one:
 * none → add; completed (kept after a delivery since reopened) → replace; failed → retry with
 * fresh attempts; waiting, delayed or active → already on its way. Idempotent.
 */
export async function requeueEvent(
  queue: Queue<EventJob>,
  eventId: string,
  knownState?: JobState | 'unknown',
): Promise<RequeueResult> {
  const id = eventJobId(eventId);
  const state = knownState ?? (await queue.getJobState(id));
  if (state === 'completed') await queue.remove(id);
  if (state === 'completed' || state === 'unknown') {
    await queue.add('order.paid', { eventId }, { jobId: id });
    return 'added';
  }
  if (state === 'failed') {
    const job = await queue.getJob(id);
    await job?.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return 'retried';
  }
  return 'present';
}
