import { UnrecoverableError, Worker, type Job, type Processor } from 'bullmq';
import type { EventsRepository } from '../../shared/db/repositories/events';
import { isDatabaseUnavailable, messageOf } from '../../shared/infra-errors';
import { withLogContext, type Logger } from '../../shared/logger';
import type { Metrics } from '../../shared/metrics';
import { eventsJobSchema } from '../../shared/queues/events';
import { isBreakerOpen, type DbBreaker } from '../../shared/resilience/breaker';
import { isLastAttempt } from '../jobs/processor';
import {
  deliverEvent,
  UndeliverableEvent,
  type DeliverEventDeps,
  type DeliveryOutcome,
} from './deliver-event';
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
  /**
   * Gives an event of a group that was not acknowledged a one-event job of its own, due after
   * the first retry delay (`requeueEvent`): its retries, DEAD mark and replay are then the
   * same as for any event.
   */
  retryAlone(eventId: string): Promise<unknown>;
}

/** While the database is down but the breaker is still closed, wait this long between tries. */
const OUTAGE_PAUSE_MS = 1_000;

/**
 * The events worker's processor: validates the job, delivers through {@link deliverEvent}, and
 * maps the outcome to BullMQ. A one-event job: delivered or skipped completes the job; not
 * acknowledged throws (retry with backoff); the database being down puts the job back
 * untouched, as the charges and orders processor does (`../jobs/processor.ts`), so an outage
 * never uses up an event's attempts. A group job ({@link deliverGroup}) is each event's first
 * attempt.
 */
export function eventProcessor(deps: EventProcessorDeps): Processor {
  const delivery: DeliverEventDeps = {
    events: groupedDeliveryRows(deps.events),
    platform: deps.platform,
    db: (work) => deps.breaker.run(work),
  };

  /** The job back to waiting, attempts untouched, and the queue paused: the database is down. */
  async function deferred(job: Job, error: unknown, eventIds: string[]): Promise<never> {
    await deps.pauseQueue(isBreakerOpen(error) ? deps.breaker.settings.resetMs : OUTAGE_PAUSE_MS);
    deps.logger.warn('event delivery deferred: database unavailable', {
      events: eventIds.length,
      eventId: eventIds[0],
    });
    deps.metrics.jobsDeferred.inc({ queue: job.queueName });
    throw Worker.RateLimitError();
  }

  function reported(eventId: string, outcome: DeliveryOutcome, started: number, attempt: number) {
    const ms = Math.round(performance.now() - started);
    switch (outcome.kind) {
      case 'delivered':
        deps.metrics.eventsDelivered.inc();
        deps.metrics.eventDelivery.observe(
          Math.max(0, (Date.now() - outcome.occurredAt.getTime()) / 1_000),
        );
        deps.logger.info('event delivered', { eventId, ms, attempt });
        break;
      case 'skipped':
        deps.logger.info('event not sent', { eventId, reason: outcome.reason });
        break;
      case 'failed':
        if (outcome.dead) {
          deps.metrics.eventsDead.inc();
          deps.logger.error('event DEAD: attempts used up, replay with ops replay-events', {
            eventId,
            attempt,
            reason: outcome.reason,
          });
        } else {
          deps.metrics.eventsRetried.inc();
          deps.logger.warn('event delivery failed: will retry', {
            eventId,
            attempt,
            reason: outcome.reason,
          });
        }
    }
  }

  function undeliverable(error: UndeliverableEvent): void {
    deps.metrics.eventsDead.inc();
    deps.logger.error('event DEAD: it cannot be delivered', { error: error.message });
  }

  async function deliverOne(job: Job, eventId: string) {
    const started = performance.now();
    let outcome;
    try {
      outcome = await deliverEvent(delivery, eventId, { lastAttempt: isLastAttempt(job) });
    } catch (error) {
      if (isBreakerOpen(error) || isDatabaseUnavailable(error)) {
        return deferred(job, error, [eventId]);
      }
      if (error instanceof UndeliverableEvent) {
        undeliverable(error);
        throw new UnrecoverableError(error.message);
      }
      throw error;
    }
    reported(eventId, outcome, started, job.attemptsMade + 1);
    if (outcome.kind === 'failed') throw new EventNotAcknowledged(outcome.reason);
    return { delivered: outcome.kind === 'delivered' };
  }

  /**
   * A group job: every event's first attempt, all at once (the platform client keeps the POSTs
   * in flight within its limit; the rows are read and acknowledged together,
   * `./delivery-rows.ts`). An event not acknowledged continues as a one-event job
   * ({@link EventProcessorDeps.retryAlone}); one whose row cannot become a body is DEAD
   * already (its row, for `ops events` and `ops replay-events`). The database down for any
   * event puts the whole group back: the events delivered meanwhile are skipped when it
   * returns. Anything else (the hand-over failing) fails the group job, which BullMQ retries.
   */
  async function deliverGroup(job: Job, eventIds: string[]) {
    const started = performance.now();
    const results = await Promise.all(
      eventIds.map((eventId) =>
        deliverEvent(delivery, eventId, { lastAttempt: false }).then(
          (outcome) => ({ eventId, outcome }),
          (error: unknown) => ({ eventId, error }),
        ),
      ),
    );
    const outage = results.find(
      (r) => 'error' in r && (isBreakerOpen(r.error) || isDatabaseUnavailable(r.error)),
    );
    const attempt = job.attemptsMade + 1;
    for (const result of results) {
      if ('outcome' in result) {
        // Failures are reported by the event's own job when the group comes back.
        if (!outage || result.outcome.kind !== 'failed') {
          reported(result.eventId, result.outcome, started, attempt);
        }
      } else if (result.error instanceof UndeliverableEvent) undeliverable(result.error);
    }
    if (outage && 'error' in outage) return deferred(job, outage.error, eventIds);

    const alone = results.filter(
      (r) =>
        ('outcome' in r && r.outcome.kind === 'failed') ||
        ('error' in r && !(r.error instanceof UndeliverableEvent)),
    );
    for (const result of alone) {
      if ('error' in result) {
        deps.logger.warn('event delivery failed: will retry', {
          eventId: result.eventId,
          attempt,
          error: messageOf(result.error),
        });
      }
      await deps.retryAlone(result.eventId);
    }
    const delivered = results.filter((r) => 'outcome' in r && r.outcome.kind === 'delivered');
    return { events: eventIds.length, delivered: delivered.length, retried: alone.length };
  }

  return async (job: Job) => {
    const parsed = eventsJobSchema.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error('invalid job payload', { queue: job.queueName, jobId: job.id });
      throw new UnrecoverableError('invalid job payload');
    }
    const { data } = parsed;
    const jobId = job.id ?? ('eventId' in data ? data.eventId : '');
    return withLogContext({ jobId, queue: job.queueName }, () =>
      'eventId' in data ? deliverOne(job, data.eventId) : deliverGroup(job, data.eventIds),
    );
  };
}
