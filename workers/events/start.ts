import { keyspaceOf } from '../../shared/keyspace';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import type { Sequelize } from 'sequelize';
import type { Config } from '../../shared/config';
import { createEventsRepository } from '../../shared/db/repositories/events';
import type { Logger } from '../../shared/logger';
import { observeOutboxLag, type Metrics } from '../../shared/metrics';
import {
  DEFAULT_EVENT_RETRY,
  EVENTS_QUEUE,
  eventBackoffStrategy,
  eventJobOptions,
  requeueEvent,
  type EventsJob,
  type EventRetryPolicy,
} from '../../shared/queues/events';
import type { DbBreaker } from '../../shared/resilience/breaker';
import { watchWorker, type WatchedWorker } from '../watchdog';
import { eventProcessor } from './processor';
import { createPlatformClient } from './platform';
import { createEventRelay, type EventRelay } from './relay';
import { startSweeper, type Sweeper } from './sweeper';

/** How a worker process delivers order events. Tests shorten the delays. */
export interface EventDeliveryOptions {
  /** Deliveries one worker process runs at once, apart from the order workers (default 8). */
  concurrency: number;
  /** Attempts and backoff (default: 30 attempts, 1 s doubling up to 90 min, over 26 h). */
  retry: EventRetryPolicy;
  /** No answer within this long is a failed attempt (default 5,000 ms, the contract's). */
  timeoutMs: number;
  /** How often the sweeper looks for events without a job (default 5,000 ms). */
  sweepIntervalMs: number;
  /** How old an event the relay never confirmed must be before the sweeper takes it (5,000 ms). */
  sweepGraceMs: number;
  /** How long a PENDING event's job may give no sign of life before it is checked (2 h). */
  sweepSilentMs: number;
  /** Rows the sweeper handles per pass (default 500). */
  sweepBatch: number;
}

export const DEFAULT_EVENT_DELIVERY: Readonly<EventDeliveryOptions> = Object.freeze({
  concurrency: 8,
  retry: DEFAULT_EVENT_RETRY,
  timeoutMs: 5_000,
  sweepIntervalMs: 5_000,
  sweepGraceMs: 5_000,
  sweepSilentMs: 2 * 3_600_000,
  sweepBatch: 500,
});

export interface EventDeliveryClients {
  config: Config;
  logger: Logger;
  sequelize: Sequelize;
  connection: ConnectionOptions;
  breaker: DbBreaker;
  metrics: Metrics;
}

export interface EventDelivery {
  /** Handed to the order worker: enqueues each event after its order's commit. */
  relay: EventRelay;
  queue: Queue<EventsJob>;
  /** The delivery worker, or undefined when delivery is off. */
  worker(): Worker | undefined;
  sweeper: Sweeper | undefined;
  /** Stops sweeping and delivering (active deliveries finish); idempotent. */
  close(): Promise<void>;
}

/**
 * The relay, the sweeper and the delivery worker of one worker process. Without
 * DATA_PLATFORM_URL only the relay runs, counting recorded events: rows stay PENDING, no job
 * uses up attempts, and the sweeper of a process started with the URL delivers them later.
 */
export function startEventDelivery(
  clients: EventDeliveryClients,
  overrides: Partial<EventDeliveryOptions> = {},
): EventDelivery {
  const { config, logger, sequelize, connection, breaker, metrics } = clients;
  const options: EventDeliveryOptions = { ...DEFAULT_EVENT_DELIVERY, ...overrides };
  const events = createEventsRepository(sequelize);
  observeOutboxLag(metrics, () => events.oldestPending());

  const queue = new Queue<EventsJob>(EVENTS_QUEUE, {
    connection,
    prefix: keyspaceOf(config.redis).shared('events'),
    defaultJobOptions: eventJobOptions(options.retry),
  });
  queue.on('error', (error) => {
    logger.warn('queue error', { queue: EVENTS_QUEUE, error: error.message });
  });

  const { url, secret } = config.dataPlatform;
  const enabled = url !== undefined && secret !== undefined;
  const relay = createEventRelay({
    queue: enabled ? queue : undefined,
    confirmEnqueued: (ids) => breaker.run(() => events.markEnqueued(ids, new Date())),
    logger,
    metrics,
  });
  if (!enabled) {
    logger.info('event delivery off: DATA_PLATFORM_URL is not set; events are recorded only');
    let closed: Promise<void> | undefined;
    return {
      relay,
      queue,
      worker: () => undefined,
      sweeper: undefined,
      close() {
        closed ??= relay.drain().then(() => queue.close());
        return closed;
      },
    };
  }
  // The URL itself is not logged: it may carry credentials.
  logger.info('event delivery on', {
    concurrency: options.concurrency,
    attempts: options.retry.attempts,
  });

  const platform = createPlatformClient({
    url,
    secret,
    timeoutMs: options.timeoutMs,
    maxSockets: options.concurrency,
  });
  const processor = eventProcessor({
    events,
    platform,
    breaker,
    logger,
    metrics,
    pauseQueue: (ms) => queue.rateLimit(ms),
    retryAlone: (eventId) =>
      requeueEvent(queue, eventId, undefined, eventBackoffStrategy(options.retry)(1)),
  });
  const watched: WatchedWorker = watchWorker({
    create: () => {
      const worker = new Worker(EVENTS_QUEUE, processor, {
        connection,
        prefix: keyspaceOf(config.redis).shared('events'),
        concurrency: options.concurrency,
        lockDuration: config.worker.lockMs,
        stalledInterval: config.worker.lockMs,
        // Delivering twice is allowed (at least once); losing a job to stalls is not.
        maxStalledCount: 5,
        settings: { backoffStrategy: eventBackoffStrategy(options.retry) },
      });
      worker.on('error', (error) => {
        logger.warn('worker error', { queue: EVENTS_QUEUE, error: error.message });
      });
      return worker;
    },
    queue,
    logger,
    idleExpected: () => breaker.state !== 'closed',
  });
  const sweeper = startSweeper({
    queue,
    events,
    breaker,
    logger,
    intervalMs: options.sweepIntervalMs,
    graceMs: options.sweepGraceMs,
    silentMs: options.sweepSilentMs,
    batch: options.sweepBatch,
  });

  let closing: Promise<void> | undefined;
  return {
    relay,
    queue,
    worker: () => watched.current(),
    sweeper,
    close() {
      closing ??= (async () => {
        await sweeper.close();
        await relay.drain();
        await watched.close();
        platform.close();
        await queue.close();
      })();
      return closing;
    },
  };
}
