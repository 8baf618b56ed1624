import type { Queue } from 'bullmq';
import type { Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import { eventJobId, type EventJob } from '../../shared/queues/events';

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
  queue: Queue<EventJob> | undefined;
  logger: Logger;
  metrics: Metrics;
  /**
   * Enqueues in flight at most (default 1,000). Past that (Redis slow or down) events are left
   * to the sweeper instead of piling up in memory.
   */
  maxInFlight?: number;
}

export function createEventRelay(options: EventRelayOptions): EventRelay {
  const maxInFlight = options.maxInFlight ?? 1_000;
  const inFlight = new Set<Promise<void>>();
  let skipped = 0;

  return {
    recorded(eventId) {
      options.metrics.eventsRecorded.inc();
      const queue = options.queue;
      if (!queue) return;
      if (inFlight.size >= maxInFlight) {
        // Counted, not logged per event: under this condition there would be thousands.
        if (skipped++ % 1_000 === 0) {
          options.logger.warn('event relay saturated: the sweeper will enqueue the rest', {
            inFlight: inFlight.size,
          });
        }
        return;
      }
      const adding = queue
        .add('order.paid', { eventId }, { jobId: eventJobId(eventId) })
        .then(
          () => undefined,
          (error: unknown) => {
            options.logger.warn('event not enqueued: the sweeper will pick it up', {
              eventId,
              error: error instanceof Error ? error.message : String(error),
            });
          },
        )
        .finally(() => inFlight.delete(adding));
      inFlight.add(adding);
    },
    async drain() {
      await Promise.allSettled([...inFlight]);
    },
  };
}
