import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { EventsRepository } from '../../shared/db/repositories/events';
import { isDatabaseUnavailable } from '../../shared/infra-errors';
import { withLogContext, type Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import { eventJobSchema } from '../../shared/queues/events';
import { isBreakerOpen, type DbBreaker } from '../../shared/resilience/breaker';
import { isLastAttempt } from '../jobs/processor';
import { deliverEvent, UndeliverableEvent, type DeliverEventDeps } from './deliver-event';
import { groupedDeliveryRows } from './delivery-rows';

/**
 * The data platform did not acknowledge the event. Thrown by the processor so BullMQ retries
 * it with the events backoff; after the last attempt the job stays failed (the row is DEAD).
 */
export class EventNotAcknowledged extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'EventNotAcknowledged';
  }
}

export interface EventProcessorDeps extends Omit<DeliverEventDeps, 'db' | 'events'> {
  events: EventsRepository;
  breaker: DbBreaker;
  logger: Logger;
  metrics: Metrics;
  /** Stops the events queue handing out jobs for `ms` (used while the database is down). */
  pauseQueue(ms: number): Promise<void>;
}

/** While the database is down but the breaker is still closed, wait this long between tries. */
const OUTAGE_PAUSE_MS = 1_000;

/**
 * The events worker's processor: validates the job, delivers through {@link deliverEvent}, and
 * maps the outcome to BullMQ: delivered or skipped completes the job; not acknowledged throws
 * (retry with backoff); the database being down puts the job back untouched, as the charges
 * and orders processor does (`../jobs/processor.ts`), so an outage never uses up an event's
 * attempts.
 */
export function eventProcessor(deps: EventProcessorDeps): Processor {
  const delivery: DeliverEventDeps = {
    events: groupedDeliveryRows(deps.events),
    platform: deps.platform,
    db: (work) => deps.breaker.run(work),
  };
  return async (job: Job) => {
    const parsed = eventJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error('invalid job payload', { queue: job.queueName, jobId: job.id });
      throw new UnrecoverableError('invalid job payload');
    }
    const { eventId } = parsed.data;
    return withLogContext({ jobId: job.id ?? eventId, queue: job.queueName }, async () => {
      const lastAttempt = isLastAttempt(job);
      const started = performance.now();
      let outcome;
      try {
        outcome = await deliverEvent(delivery, eventId, { lastAttempt });
      } catch (error) {
        if (isBreakerOpen(error) || isDatabaseUnavailable(error)) {
          await deps.pauseQueue(
            isBreakerOpen(error) ? deps.breaker.settings.resetMs : OUTAGE_PAUSE_MS,
          );
          deps.logger.warn('event delivery deferred: database unavailable', { eventId });
          deps.metrics.jobsDeferred.inc({ queue: job.queueName });
          throw Worker.RateLimitError();
        }
        if (error instanceof UndeliverableEvent) {
          deps.metrics.eventsDead.inc();
          deps.logger.error('event DEAD: it cannot be delivered', { error: error.message });
          throw new UnrecoverableError(error.message);
        }
        throw error;
      }
      const ms = Math.round(performance.now() - started);
      switch (outcome.kind) {
        case 'delivered':
          deps.metrics.eventsDelivered.inc();
          deps.metrics.eventDelivery.observe(
            Math.max(0, (Date.now() - outcome.occurredAt.getTime()) / 1_000),
          );
          deps.logger.info('event delivered', { eventId, ms, attempt: job.attemptsMade + 1 });
          return { delivered: true };
        case 'skipped':
          deps.logger.info('event not sent', { eventId, reason: outcome.reason });
          return { delivered: false };
        case 'failed':
          if (outcome.dead) {
            deps.metrics.eventsDead.inc();
            deps.logger.error('event DEAD: attempts used up, replay with ops replay-events', {
              eventId,
              attempt: job.attemptsMade + 1,
              reason: outcome.reason,
            });
          } else {
            deps.metrics.eventsRetried.inc();
            deps.logger.warn('event delivery failed: will retry', {
              eventId,
              attempt: job.attemptsMade + 1,
              reason: outcome.reason,
            });
          }
          throw new EventNotAcknowledged(outcome.reason);
      }
    });
  };
}
