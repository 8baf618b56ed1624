import type { Queue } from 'bullmq';
import { messageOf } from '../../shared/infra-errors';
import type { Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import {
  EVENT_JOB_NAME,
  MAX_EVENTS_PER_JOB,
  eventJobId,
  type EventsJob,
} from '../../shared/queues/events';

export interface EventRelay {
  /**
   * Told by the order worker, after the paying transaction committed, which event it recorded.
   * Returns at once and never throws: the order's outcome must not wait on, or fail with, the
   * events queue. An event this misses is picked up by the sweeper.
   */
  recorded(eventId: string): void;
  /** Waits for the enqueues in flight (shutdown). */
  drain(): Promise<void>;
}

export interface EventRelayOptions {
  /** The events queue, or undefined when delivery is off (no DATA_PLATFORM_URL). */
  queue: Queue<EventsJob> | undefined;
  /**
   * Records on the rows that a group job has them (`enqueued_at`), so the sweeper, which finds
   * a one-event job by its id, does not enqueue them a second time while the group waits.
   */
  confirmEnqueued(eventIds: string[]): Promise<void>;
  logger: Logger;
  metrics: Metrics;
  /**
   * Events being enqueued at most (default 1,000). Past that (Redis slow or down) events are
   * left to the sweeper instead of piling up in memory.
   */
  maxInFlight?: number;
}

/**
 * Hands each recorded event to the events queue. The events recorded in the same turn of the
 * event loop (an order batch's commit records one per paid order) are enqueued together: one
 * alone as a one-event job under its own id, as before; several as group jobs of up to
 * {@link MAX_EVENTS_PER_JOB}, whose rows are then marked enqueued. Why: a job per event cost
 * Redis and the worker more than the event's POST (load/REPORT.md, "Event delivery").
 */
export function createEventRelay(options: EventRelayOptions): EventRelay {
  const maxInFlight = options.maxInFlight ?? 1_000;
  const inFlight = new Set<Promise<void>>();
  let waiting: string[] = [];
  let events = 0;
  let skipped = 0;

  async function enqueue(eventIds: string[]): Promise<void> {
    const queue = options.queue;
    if (!queue) return;
    const [only] = eventIds;
    try {
      if (eventIds.length === 1 && only) {
        await queue.add(EVENT_JOB_NAME, { eventId: only }, { jobId: eventJobId(only) });
        return;
      }
      await queue.add(EVENT_JOB_NAME, { eventIds });
    } catch (error) {
      options.logger.warn('events not enqueued: the sweeper will pick them up', {
        events: eventIds.length,
        error: messageOf(error),
      });
      return;
    }
    await options.confirmEnqueued(eventIds).catch((error: unknown) => {
      // The sweeper will give them one-event jobs too: delivered twice at worst.
      options.logger.warn('events enqueued but not marked so', {
        events: eventIds.length,
        error: messageOf(error),
      });
    });
  }

  function flush(): void {
    const taken = waiting;
    waiting = [];
    for (let i = 0; i < taken.length; i += MAX_EVENTS_PER_JOB) {
      const group = taken.slice(i, i + MAX_EVENTS_PER_JOB);
      track(enqueue(group).finally(() => (events -= group.length)));
    }
  }

  function track(work: Promise<void>): void {
    const tracked = work.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }

  return {
    recorded(eventId) {
      options.metrics.eventsRecorded.inc();
      if (!options.queue) return;
      if (events >= maxInFlight) {
        // Counted, not logged per event: under this condition there would be thousands.
        if (skipped++ % 1_000 === 0) {
          options.logger.warn('event relay saturated: the sweeper will enqueue the rest', {
            inFlight: events,
          });
        }
        return;
      }
      events++;
      if (waiting.length === 0) track(new Promise((resolve) => setImmediate(resolve)).then(flush));
      waiting.push(eventId);
    },
    async drain() {
      // A flush adds enqueues while it runs: wait until none is left.
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
